package checksum

import (
	"cmp"
	"context"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// A database's tree grows, and each lookup answer comes with the signed
// tree head it was served with; a proxy's cache can hand out answers of
// very different ages. Authenticating an answer against a tree needs that
// tree's right-hand, partial tiles, and a later, larger tree needs wider
// versions of the same tiles, whose hashes begin with the narrower ones'.
// So that the DB and the clients of a proxy serving it do not fetch one
// tile at several widths, the DB remembers the largest tree it has seen
// authenticated, fetches a partial tile at the width that tree gives it,
// and answers a narrower read of the same tile with a prefix of the wider
// one it holds. x/mod's client authenticates every tile it reads, prefix
// or not, against the tree it needs it for.

// Bounds of the DB's books on tiles: the widths it has authenticated
// (tileBookCost bytes each, about what an entry costs) and the
// unauthenticated wider tiles it has read.
const (
	tileBookCost     = 64
	maxTileBooks     = 4096 * tileBookCost
	maxWideTileBytes = 256 * (8<<10 + tileBookCost)
)

// noteTree returns the size of the tree signed in a lookup answer, if the
// answer parses and its signature verifies with the DB's key.
func (db *DB) noteTree(answer []byte) (int64, bool) {
	if db.verifier == nil {
		return 0, false
	}
	_, _, treeMsg, err := tlog.ParseRecord(answer)
	if err != nil {
		return 0, false
	}
	n, err := note.Open(treeMsg, note.VerifierList(db.verifier))
	if err != nil {
		return 0, false
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil {
		return 0, false
	}
	return tree.N, true
}

// maxTileWait bounds how long a read of a partial tile waits for lookup
// answers being read at the time, in case one was signed by a larger tree.
const maxTileWait = 20 * time.Millisecond

// widest returns t at the width the largest tree seen gives it. When t is
// partial there and lookups that started before are still being read, it
// first waits for them (at most maxTileWait, or db.tileWait): concurrent
// lookups often come back signed by trees of different sizes, and the
// reads of the smaller tree's partial tiles are spared when the larger
// tree is known in time.
func (db *DB) widest(t tlog.Tile) tlog.Tile {
	db.mu.Lock()
	defer db.mu.Unlock()
	before := db.lookupSeq
	var timer *time.Timer
	for {
		t.W = max(t.W, tileWidth(t, db.maxTree))
		if t.W == 1<<uint(t.H) || !db.lookupsBefore(before) {
			return t
		}
		if timer == nil {
			timer = time.NewTimer(cmp.Or(db.tileWait, maxTileWait))
			defer timer.Stop()
			if db.onTileWait != nil {
				db.onTileWait()
			}
		}
		changed := db.lookupDone
		db.mu.Unlock()
		select {
		case <-changed:
			db.mu.Lock()
		case <-timer.C:
			db.mu.Lock()
			t.W = max(t.W, tileWidth(t, db.maxTree))
			return t
		}
	}
}

// lookupsBefore reports whether lookups numbered up to seq are still
// being read. db.mu is held.
func (db *DB) lookupsBefore(seq uint64) bool {
	for id := range db.lookupsBusy {
		if id <= seq {
			return true
		}
	}
	return false
}

// lookupStarted and lookupEnded track the lookup answers being read, for
// widest.
func (db *DB) lookupStarted() uint64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.lookupSeq++
	if db.lookupsBusy == nil {
		db.lookupsBusy = make(map[uint64]bool)
		db.lookupDone = make(chan struct{})
	}
	db.lookupsBusy[db.lookupSeq] = true
	return db.lookupSeq
}

func (db *DB) lookupEnded(id uint64, answer []byte) {
	n, ok := db.noteTree(answer)
	db.mu.Lock()
	defer db.mu.Unlock()
	if ok {
		db.maxTree = max(db.maxTree, n)
	}
	delete(db.lookupsBusy, id)
	close(db.lookupDone)
	db.lookupDone = make(chan struct{})
}

// tileWidth is the width of tile t (its H, L and N) in a tree of size n:
// how many of its hashes that tree has, at most 1<<t.H.
func tileWidth(t tlog.Tile, n int64) int {
	have := n>>(uint(t.L)*uint(t.H)) - t.N<<uint(t.H)
	return int(max(0, min(have, 1<<uint(t.H))))
}

// tileKey names a tile whatever its width.
func tileKey(t tlog.Tile) tlog.Tile {
	t.W = 1 << uint(t.H)
	return t
}

// heldTile returns the first t.W hashes of a wider tile the DB holds. For
// a proxy's client (forClient), that is the widest one x/mod's client has
// authenticated here, or a full tile kept on disk (by the go command,
// say); for x/mod's client, which has looked for the full tile itself,
// the widest authenticated one or one read for a narrower read and not
// authenticated yet.
func (db *DB) heldTile(t tlog.Tile, forClient bool) (data []byte, verified bool) {
	n := t.W * tlog.HashSize
	key := tileKey(t)
	w, _ := db.verifiedTiles.Get(key)
	widths := []int{w}
	if forClient && w != key.W {
		widths = append(widths, key.W)
	}
	for _, w := range widths {
		if w > t.W {
			wide := key
			wide.W = w
			if data, err := db.readCache(db.name + "/" + wide.Path()); err == nil && len(data) >= n {
				return data[:n:n], true
			}
		}
	}
	if forClient {
		return nil, false
	}
	if data, _ := db.wideTiles.Get(key); len(data) >= n {
		return data[:n:n], false
	}
	return nil, false
}

// keptTile records that x/mod's client authenticated and kept the tile
// file ("<name>/tile/...").
func (db *DB) keptTile(file string) {
	t, err := tlog.ParseTilePath(strings.TrimPrefix(file, db.name+"/"))
	if err != nil || t.L < 0 {
		return
	}
	key := tileKey(t)
	db.mu.Lock() // a read and an update of the widest width
	defer db.mu.Unlock()
	if w, _ := db.verifiedTiles.Get(key); w < t.W {
		db.verifiedTiles.Add(key, t.W)
	}
}

// readTile reads the hash tile at path ("/tile/8/0/x001/234.p/5") for
// x/mod's client, which authenticates it: it spares the request when a
// wider tile is held, and widens the request to what the largest tree
// seen holds of the tile. Other paths are read as they are.
func (db *DB) readTile(ctx context.Context, path string) ([]byte, error) {
	t, err := tlog.ParseTilePath(strings.TrimPrefix(path, "/"))
	if err != nil || t.L < 0 {
		return db.ReadRemote(ctx, path) // data tiles are never widened
	}
	if data, _ := db.heldTile(t, false); data != nil {
		return data, nil
	}
	want := db.widest(t)
	data, err := db.fetchTile(ctx, want)
	if want != t && (err != nil || len(data) != want.W*tlog.HashSize) {
		// The wider tile is not there: read the one asked for.
		want = t
		data, err = db.fetchTile(ctx, want)
	}
	if err != nil || len(data) != want.W*tlog.HashSize {
		return data, err // x/mod's client rejects a malformed tile
	}
	n := t.W * tlog.HashSize
	return data[:n:n], nil
}

// fetchTile reads tile t from the database once for concurrent callers,
// and keeps it, unauthenticated, for narrower or later reads before the
// callers have it: a reader that has just missed it finds it. The tiles
// kept so are dropped with the client generation (dropClient), so that
// one that fails authentication is read again.
func (db *DB) fetchTile(ctx context.Context, t tlog.Tile) ([]byte, error) {
	data, err, _ := db.tiles.Do(ctx, t.Path(), func(ctx context.Context) ([]byte, error) {
		if data, _ := db.heldTile(t, false); data != nil {
			return data, nil
		}
		data, err := db.ReadRemote(ctx, "/"+t.Path())
		if err == nil && len(data) == t.W*tlog.HashSize {
			key := tileKey(t)
			db.mu.Lock() // a read and an update of the widest tile
			if old, _ := db.wideTiles.Get(key); len(old) < len(data) {
				db.wideTiles.Add(key, data)
			}
			db.mu.Unlock()
		}
		return data, err
	})
	return data, err
}
