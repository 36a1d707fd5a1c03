package locate

// Cache returns the region and store cache the sender routes through.
func (s *Sender) Cache() *Cache { return s.cache }

// RPCClient returns the client the sender sends through, for requests
// addressed to a store rather than a region (such as BroadcastTxnStatus).
func (s *Sender) RPCClient() RPCClient { return s.client }
