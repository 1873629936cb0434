package checksum

import (
	"slices"
	"testing"

	"golang.org/x/mod/module"
)

func mv(path, version string) module.Version {
	return module.Version{Path: path, Version: version}
}

func TestGoSumEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gosum   string
		entries []GoSumEntry
		mods    []module.Version
		full    []bool
	}{
		{name: "empty"},
		{
			name: "sorted like Bytes",
			gosum: "example.com/b v1.0.0/go.mod h1:B1mod=\n" +
				"example.com/a v1.10.0 h1:A10=\n" +
				"example.com/a v1.2.0/go.mod h1:A2mod=\n" +
				"example.com/a v1.2.0 h1:A2=\n" +
				"example.com/b v1.0.0 h1:B1=\n",
			entries: []GoSumEntry{
				{"example.com/a", "v1.2.0", false, "h1:A2="},
				{"example.com/a", "v1.2.0", true, "h1:A2mod="},
				{"example.com/a", "v1.10.0", false, "h1:A10="},
				{"example.com/b", "v1.0.0", false, "h1:B1="},
				{"example.com/b", "v1.0.0", true, "h1:B1mod="},
			},
			mods: []module.Version{mv("example.com/a", "v1.2.0"), mv("example.com/a", "v1.10.0"), mv("example.com/b", "v1.0.0")},
			full: []bool{true, true, true},
		},
		{
			name: "go.mod only",
			gosum: "example.com/a v1.0.0/go.mod h1:Amod=\n" +
				"example.com/a v1.1.0/go.mod h1:A11mod=\n" +
				"example.com/a v1.1.0 h1:A11=\n",
			entries: []GoSumEntry{
				{"example.com/a", "v1.0.0", true, "h1:Amod="},
				{"example.com/a", "v1.1.0", false, "h1:A11="},
				{"example.com/a", "v1.1.0", true, "h1:A11mod="},
			},
			mods: []module.Version{mv("example.com/a", "v1.0.0"), mv("example.com/a", "v1.1.0")},
			full: []bool{false, true},
		},
		{
			name: "two hashes for one version",
			gosum: "example.com/a v1.0.0 h1:Z=\n" +
				"example.com/a v1.0.0 h1:Y=\n",
			entries: []GoSumEntry{
				{"example.com/a", "v1.0.0", false, "h1:Y="},
				{"example.com/a", "v1.0.0", false, "h1:Z="},
			},
			mods: []module.Version{mv("example.com/a", "v1.0.0")},
			full: []bool{true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := ParseGoSum("go.sum", []byte(tc.gosum))
			if err != nil {
				t.Fatal(err)
			}
			if got := gs.Entries(); !slices.Equal(got, tc.entries) {
				t.Errorf("Entries() = %v, want %v", got, tc.entries)
			}
			mods, full := gs.Modules()
			if !slices.Equal(mods, tc.mods) || !slices.Equal(full, tc.full) {
				t.Errorf("Modules() = %v, %v; want %v, %v", mods, full, tc.mods, tc.full)
			}
			// The entries are the lines Bytes writes.
			var lines string
			for _, e := range gs.Entries() {
				v := e.Version
				if e.GoMod {
					v += "/go.mod"
				}
				lines += e.Path + " " + v + " " + e.Hash + "\n"
			}
			if lines != string(gs.Bytes()) {
				t.Errorf("entries as lines:\n%s\nBytes:\n%s", lines, gs.Bytes())
			}
		})
	}
}
