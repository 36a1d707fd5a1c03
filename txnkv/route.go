package txnkv

import (
	"github.com/tikvgo/tikvgo/locate"
	"github.com/tikvgo/tikvgo/locate/keycodec"
)

// Routing goes through locate's Router (one key, range walks, batches by
// region) with the API V1 transactional key codec: user keys are wire keys
// and region keys are their memcomparable encoding.

func newRouter(sender *locate.Sender) (*locate.Router, *keycodec.Codec, error) {
	codec, err := keycodec.NewV1(keycodec.Txn)
	if err != nil {
		return nil, nil, err
	}
	return locate.NewRouter(sender, codec), codec, nil
}

// keyItem is the ItemFunc of a key list (sizes do not matter for reads).
func keyItem(k []byte) ([]byte, int) { return k, len(k) }
