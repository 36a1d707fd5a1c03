package memdb

// Flags are the per-key marks a transaction keeps next to a buffered key:
// how the key was locked, what prewrite must check or assert, and whether the
// key takes part in the commit. They are changed only through [FlagsOp]
// values, which keep the combinations consistent (for example an assertion is
// one of exist, not-exist, unknown or none).
type Flags uint16

// The flag bits. Read them with [Flags.Has] or the predicate methods; change
// them with the FlagsOp values.
const (
	// FlagPresumeKeyNotExists marks a key whose absence was assumed rather
	// than read (lazy uniqueness check); prewrite checks it.
	FlagPresumeKeyNotExists Flags = 1 << iota
	// FlagKeyLocked marks a key that holds a pessimistic lock.
	FlagKeyLocked
	// FlagNeedLocked marks a key that must be pessimistically locked
	// before commit.
	FlagNeedLocked
	// FlagKeyLockedValueExists records that the value existed when the key
	// was pessimistically locked (used to cross-check assertions).
	FlagKeyLockedValueExists
	// FlagNeedCheckExists marks a key whose existence must be checked when
	// it is locked.
	FlagNeedCheckExists
	// FlagPrewriteOnly marks a key that is prewritten but not committed
	// (Op CheckNotExists leaves no lock to commit).
	FlagPrewriteOnly
	// FlagIgnoredIn2PC marks a key the committer skips.
	FlagIgnoredIn2PC
	// FlagNewlyInserted marks a key written by an insert; a later delete of
	// it becomes a lock (pessimistic) or nothing instead of a delete.
	FlagNewlyInserted
	// FlagAssertExist asks prewrite to assert the key exists; together with
	// FlagAssertNotExist it means "unknown" (no assertion, but fixed).
	FlagAssertExist
	// FlagAssertNotExist asks prewrite to assert the key does not exist.
	FlagAssertNotExist
	// FlagNeedConstraintCheckInPrewrite postpones a pessimistic key's
	// conflict and uniqueness check to prewrite.
	FlagNeedConstraintCheckInPrewrite
	// FlagPreviousPresumeKeyNotExists is a presume-not-exists left by an
	// earlier statement, kept so a statement retry asserts correctly.
	FlagPreviousPresumeKeyNotExists
	// FlagKeyLockedInShareMode marks a pessimistic lock taken in shared
	// mode; it is set only together with FlagKeyLocked.
	FlagKeyLockedInShareMode

	// flagPresent is internal: the key exists in the buffer (it has a value,
	// a tombstone, or was touched by a flags update). It is never returned.
	flagPresent Flags = 1 << 15
	// flagTomb is internal: the key's current write is a tombstone. Kept in
	// the entry so iteration can skip tombstones without reading the value
	// log.
	flagTomb Flags = 1 << 14

	// persistentFlags survive a Cleanup that discards the key's value: they
	// describe locks already taken on the server, which a rollback of the
	// statement does not release.
	persistentFlags = FlagKeyLocked | FlagKeyLockedValueExists | FlagNeedConstraintCheckInPrewrite | FlagKeyLockedInShareMode

	userFlags = flagTomb - 1
)

// Has reports whether every bit of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x && x != 0 }

// PresumeKeyNotExists reports a presumed absence from this or an earlier
// statement.
func (f Flags) PresumeKeyNotExists() bool {
	return f&(FlagPresumeKeyNotExists|FlagPreviousPresumeKeyNotExists) != 0
}

// Locked reports a pessimistic lock held on the key.
func (f Flags) Locked() bool { return f&FlagKeyLocked != 0 }

// LockedInShareMode reports a pessimistic lock held in shared mode.
func (f Flags) LockedInShareMode() bool { return f&FlagKeyLockedInShareMode != 0 }

// AssertExist reports an "exists" assertion.
func (f Flags) AssertExist() bool {
	return f&(FlagAssertExist|FlagAssertNotExist) == FlagAssertExist
}

// AssertNotExist reports a "does not exist" assertion.
func (f Flags) AssertNotExist() bool {
	return f&(FlagAssertExist|FlagAssertNotExist) == FlagAssertNotExist
}

// AssertUnknown reports that the key's existence is unknown, so no
// assertion is made, and none may be set later.
func (f Flags) AssertUnknown() bool {
	return f&(FlagAssertExist|FlagAssertNotExist) == FlagAssertExist|FlagAssertNotExist
}

// HasAssertion reports whether any assertion state (including unknown) has
// been fixed for the key.
func (f Flags) HasAssertion() bool { return f&(FlagAssertExist|FlagAssertNotExist) != 0 }

// Persistent returns the flags that survive a Cleanup which discards the
// key's value.
func (f Flags) Persistent() Flags { return f & persistentFlags }

// FlagsOp is one change to a key's flags: some bits cleared, then some set.
// Only the values declared in this package exist; the zero FlagsOp changes
// nothing.
type FlagsOp struct {
	clear, set Flags
}

func (o FlagsOp) apply(f Flags) Flags { return f&^o.clear | o.set }

// The flag operations, named after client-go's so that code ported from it
// reads the same. Each keeps the invariants noted on it.
var (
	// SetPresumeKeyNotExists presumes the key absent and asks for an
	// existence check (sets FlagPresumeKeyNotExists and FlagNeedCheckExists).
	SetPresumeKeyNotExists = FlagsOp{set: FlagPresumeKeyNotExists | FlagNeedCheckExists}
	// DelPresumeKeyNotExists reverts SetPresumeKeyNotExists.
	DelPresumeKeyNotExists = FlagsOp{clear: FlagPresumeKeyNotExists | FlagNeedCheckExists}
	// SetPreviousPresumeKeyNotExists marks a presume-not-exists from an
	// earlier statement.
	SetPreviousPresumeKeyNotExists = FlagsOp{set: FlagPreviousPresumeKeyNotExists}
	// SetKeyLocked records a pessimistic lock.
	SetKeyLocked = FlagsOp{set: FlagKeyLocked}
	// DelKeyLocked forgets a pessimistic lock.
	DelKeyLocked = FlagsOp{clear: FlagKeyLocked}
	// SetKeyLockedInShareMode marks the lock as shared.
	SetKeyLockedInShareMode = FlagsOp{set: FlagKeyLockedInShareMode}
	// SetKeyLockedInExclusiveMode marks the lock as exclusive.
	SetKeyLockedInExclusiveMode = FlagsOp{clear: FlagKeyLockedInShareMode}
	// SetNeedLocked asks for a pessimistic lock before commit.
	SetNeedLocked = FlagsOp{set: FlagNeedLocked}
	// DelNeedLocked reverts SetNeedLocked.
	DelNeedLocked = FlagsOp{clear: FlagNeedLocked}
	// SetKeyLockedValueExists records that locking found a value; the
	// constraint check it settles is no longer needed in prewrite.
	SetKeyLockedValueExists = FlagsOp{clear: FlagNeedConstraintCheckInPrewrite, set: FlagKeyLockedValueExists}
	// SetKeyLockedValueNotExists records that locking found no value; the
	// constraint check it settles is no longer needed in prewrite.
	SetKeyLockedValueNotExists = FlagsOp{clear: FlagNeedConstraintCheckInPrewrite | FlagKeyLockedValueExists}
	// DelNeedCheckExists drops the existence check.
	DelNeedCheckExists = FlagsOp{clear: FlagNeedCheckExists}
	// SetPrewriteOnly marks the key as prewritten but not committed.
	SetPrewriteOnly = FlagsOp{set: FlagPrewriteOnly}
	// SetIgnoredIn2PC makes the committer skip the key.
	SetIgnoredIn2PC = FlagsOp{set: FlagIgnoredIn2PC}
	// SetNewlyInserted marks the key as written by an insert.
	SetNewlyInserted = FlagsOp{set: FlagNewlyInserted}
	// SetAssertExist asserts the key exists.
	SetAssertExist = FlagsOp{clear: FlagAssertNotExist, set: FlagAssertExist}
	// SetAssertNotExist asserts the key does not exist.
	SetAssertNotExist = FlagsOp{clear: FlagAssertExist, set: FlagAssertNotExist}
	// SetAssertUnknown fixes the assertion as unknown (none is sent).
	SetAssertUnknown = FlagsOp{set: FlagAssertExist | FlagAssertNotExist}
	// SetAssertNone clears any assertion.
	SetAssertNone = FlagsOp{clear: FlagAssertExist | FlagAssertNotExist}
	// SetNeedConstraintCheckInPrewrite postpones the key's constraint check
	// to prewrite.
	SetNeedConstraintCheckInPrewrite = FlagsOp{set: FlagNeedConstraintCheckInPrewrite}
	// DelNeedConstraintCheckInPrewrite reverts
	// SetNeedConstraintCheckInPrewrite.
	DelNeedConstraintCheckInPrewrite = FlagsOp{clear: FlagNeedConstraintCheckInPrewrite}
)

func applyOps(f Flags, ops []FlagsOp) Flags {
	for _, o := range ops {
		f = o.apply(f)
	}
	return f
}
