package store

import (
	"sync"

	"github.com/syndtr/goleveldb/leveldb"
)

// committer writes the records of concurrent callers in groups: one synced
// write covers every record added while the write before it was under way
// (group commit). Each caller returns only once the write that holds its
// records has been synced, with that write's error.
//
// The callers of a group wait for one of them, the one that opened the
// group, to write it; at most one group is written at a time and one more
// gathers records meanwhile, so the disk is kept busy and every record
// waits for at most two syncs. (goleveldb merges concurrent writes
// itself, but hands each merged writer its turn and its answer one by one;
// under many clients that, not the sync, bounded minting.)
type committer struct {
	ldb *leveldb.DB

	mu      sync.Mutex
	open    *commitGroup // the group new records join, or nil
	writing bool         // a group is being written
}

// commitGroup is the records of one synced write and its outcome.
type commitGroup struct {
	batch leveldb.Batch
	// ready is closed when the group may be written: the write before it
	// is done. done is closed when it has been, and err is set.
	ready, done chan struct{}
	err         error
}

// write adds what fill puts in a batch to the next group write and returns
// once that write is synced, with its error. fill is called with the
// committer's lock held: it must only add records.
func (c *committer) write(fill func(b *leveldb.Batch)) error {
	c.mu.Lock()
	g := c.open
	leader := g == nil
	if leader {
		g = &commitGroup{ready: make(chan struct{}), done: make(chan struct{})}
		c.open = g
		if !c.writing {
			c.writing = true
			close(g.ready)
		}
	}
	fill(&g.batch)
	c.mu.Unlock()
	if !leader {
		<-g.done
		return g.err
	}

	// The group's turn: close it to new records and write it.
	<-g.ready
	c.mu.Lock()
	c.open = nil
	c.mu.Unlock()
	g.err = c.ldb.Write(&g.batch, syncWrite)
	close(g.done)

	// Hand the turn to the group that gathered meanwhile, if any.
	c.mu.Lock()
	if c.open != nil {
		close(c.open.ready)
	} else {
		c.writing = false
	}
	c.mu.Unlock()
	return g.err
}
