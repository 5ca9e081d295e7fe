// Cross-implementation check (test/log/go-crosscheck.test.ts): Go's own golang.org/x/mod/sumdb/note and tlog,
// built in GOPATH mode from Debian's golang-golang-x-mod-dev, verify what countersign wrote into a directory:
//   vkey, checkpoint      note.Open with note.NewVerifier(vkey) over our signed checkpoint
//   witness.vkey          a cosignature/v1 line, checked by an independent Verifier written here from the spec
//   tiles/tile/L/N[.p/W]  tlog.TileHashReader (which authenticates every tile against the tree hash),
//                         tlog.TreeHash, HashFromTile, ProveRecord/ProveTree equal to our proofs
//   cases.json            our inclusion and consistency proofs, through tlog.CheckRecord / tlog.CheckTree
// It prints one JSON object: {"ok": [...checks passed], "errors": [...]}; the test asserts on it.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index int64    `json:"index"`
	Leaf  string   `json:"leaf"`
	Entry string   `json:"entry"`
	Proof []string `json:"proof"`
	Want  bool     `json:"want"`
}

type consistency struct {
	M     int64    `json:"m"`
	RootM string   `json:"rootM"`
	Proof []string `json:"proof"`
	Want  bool     `json:"want"`
}

type newTiles struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Paths []string `json:"paths"`
}

type cases struct {
	Size        int64         `json:"size"`
	Root        string        `json:"root"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	NewTiles    []newTiles    `json:"newTiles"`
}

// cosigV1 verifies c2sp.org/tlog-cosignature cosignature/v1 lines (type 0x04), written from the spec text.
type cosigV1 struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v cosigV1) Name() string    { return v.name }
func (v cosigV1) KeyHash() uint32 { return v.hash }
func (v cosigV1) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

func newCosigV1(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("bad vkey")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x04 {
		return nil, errors.New("not a cosignature/v1 key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
	id := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", id) != parts[1] {
		return nil, errors.New("key id mismatch")
	}
	return cosigV1{name: parts[0], hash: id, key: ed25519.PublicKey(raw[1:])}, nil
}

// dirTiles serves our tlog-tiles directory to Go's reader: Go's path tile/8/L/N[.p/W] is our tile/L/N[.p/W].
type dirTiles struct{ dir string }

func (d dirTiles) Height() int { return 8 }
func (d dirTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
		b, err := os.ReadFile(filepath.Join(d.dir, p))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
func (d dirTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func hash(s string) tlog.Hash {
	var h tlog.Hash
	b, _ := base64.StdEncoding.DecodeString(s)
	copy(h[:], b)
	return h
}

func hashes(ss []string) []tlog.Hash {
	out := make([]tlog.Hash, len(ss))
	for i, s := range ss {
		out[i] = hash(s)
	}
	return out
}

func main() {
	dir := os.Args[1]
	var ok, errs []string
	pass := func(what string) { ok = append(ok, what) }
	fail := func(what string, err error) { errs = append(errs, fmt.Sprintf("%s: %v", what, err)) }
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		return b
	}

	var c cases
	if err := json.Unmarshal(read("cases.json"), &c); err != nil {
		panic(err)
	}

	// The checkpoint: our log signature (Go's own Ed25519 note verifier) and our cosignature.
	logV, err := note.NewVerifier(strings.TrimSpace(string(read("vkey"))))
	if err != nil {
		panic(err)
	}
	witV, err := newCosigV1(strings.TrimSpace(string(read("witness.vkey"))))
	if err != nil {
		panic(err)
	}
	msg := read("checkpoint")
	if n, err := note.Open(msg, note.VerifierList(logV)); err != nil {
		fail("note.Open(log)", err)
	} else {
		lines := strings.Split(n.Text, "\n")
		if len(lines) < 4 || lines[1] != strconv.FormatInt(c.Size, 10) || lines[2] != c.Root {
			fail("checkpoint text", fmt.Errorf("%q", n.Text))
		} else {
			pass("log signature")
		}
		if len(n.UnverifiedSigs) != 1 {
			fail("unverified", fmt.Errorf("%d", len(n.UnverifiedSigs)))
		}
	}
	if n, err := note.Open(msg, note.VerifierList(witV)); err != nil || len(n.Sigs) != 1 {
		fail("note.Open(witness)", err)
	} else {
		pass("cosignature")
	}
	if _, err := note.Open(bytes.Replace(msg, []byte("\n"+strconv.FormatInt(c.Size, 10)+"\n"), []byte("\n"+strconv.FormatInt(c.Size+1, 10)+"\n"), 1), note.VerifierList(logV)); err == nil {
		fail("tampered checkpoint", errors.New("accepted"))
	} else {
		pass("tampered checkpoint refused")
	}

	// The tiles: Go's tile reader authenticates every tile it reads against the tree hash.
	tree := tlog.Tree{N: c.Size, Hash: hash(c.Root)}
	hr := tlog.TileHashReader(tree, dirTiles{filepath.Join(dir, "tiles")})
	if th, err := tlog.TreeHash(c.Size, hr); err != nil || th != tree.Hash {
		fail("TreeHash from tiles", err)
	} else {
		pass("tree hash from tiles")
	}
	for _, nt := range c.NewTiles {
		// sumdb also publishes every intermediate width of a partial tile (and the unchanged one again), so a
		// client may ask for any tree size; tlog-tiles needs only the partial tile of the checkpoint's size. Keep
		// Go's full tiles and, per partial tile, the widest one when its width changed.
		var got []string
		all := tlog.NewTiles(8, nt.Old, nt.New)
		for i, t := range all {
			if t.W < 256 {
				if i+1 < len(all) && all[i+1].L == t.L && all[i+1].N == t.N {
					continue
				}
				oldN := nt.Old >> (8 * uint(t.L))
				if oldN>>8 == t.N && int(oldN-t.N<<8) == t.W {
					continue
				}
			}
			got = append(got, strings.Replace(t.Path(), "tile/8/", "tile/", 1))
		}
		if strings.Join(got, " ") != strings.Join(nt.Paths, " ") {
			fail(fmt.Sprintf("NewTiles(%d, %d)", nt.Old, nt.New), fmt.Errorf("go %v, ours %v", got, nt.Paths))
		} else {
			pass(fmt.Sprintf("new tiles %d->%d", nt.Old, nt.New))
		}
	}

	// Our proofs, checked by Go; for the good ones, Go's own proof from our tiles must be the same hashes.
	for _, in := range c.Inclusion {
		what := fmt.Sprintf("inclusion %d/%d want=%v", in.Index, c.Size, in.Want)
		entry, _ := base64.StdEncoding.DecodeString(in.Entry)
		if in.Entry != "" && tlog.RecordHash(entry) != hash(in.Leaf) {
			fail(what+" RecordHash", errors.New("leaf hash differs"))
			continue
		}
		err := tlog.CheckRecord(tlog.RecordProof(hashes(in.Proof)), c.Size, tree.Hash, in.Index, hash(in.Leaf))
		if (err == nil) != in.Want {
			fail(what, fmt.Errorf("go says %v", err))
			continue
		}
		if in.Want {
			p, err := tlog.ProveRecord(c.Size, in.Index, hr)
			if err != nil || fmt.Sprint(p) != fmt.Sprint(tlog.RecordProof(hashes(in.Proof))) {
				fail(what+" ProveRecord", err)
				continue
			}
			if hs, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, in.Index)}); err != nil || hs[0] != hash(in.Leaf) {
				fail(what+" leaf from tile", err)
				continue
			}
		}
		pass(what)
	}
	for _, co := range c.Consistency {
		what := fmt.Sprintf("consistency %d->%d want=%v", co.M, c.Size, co.Want)
		err := tlog.CheckTree(tlog.TreeProof(hashes(co.Proof)), c.Size, tree.Hash, co.M, hash(co.RootM))
		if (err == nil) != co.Want {
			fail(what, fmt.Errorf("go says %v", err))
			continue
		}
		if co.Want {
			p, err := tlog.ProveTree(c.Size, co.M, hr)
			if err != nil || fmt.Sprint(p) != fmt.Sprint(tlog.TreeProof(hashes(co.Proof))) {
				fail(what+" ProveTree", err)
				continue
			}
		}
		pass(what)
	}

	out, _ := json.Marshal(map[string][]string{"ok": ok, "errors": errs})
	fmt.Println(string(out))
}
