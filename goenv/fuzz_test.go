package goenv

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseNetrc checks that the entries read from a netrc file are
// complete single tokens and that a file written from them reads back the
// same entries.
func FuzzParseNetrc(f *testing.F) {
	for _, s := range []string{
		"machine example.com login u password p\n",
		"machine a login u\npassword p\nmachine b login v password q",
		"machine a login u password p machine b login v password q\n",
		"default login anon password x\nmachine late login u password p\n",
		"machine a login u password p default\nmachine b login v password q\n",
		"macdef init\ncd /pub\nmachine hidden login u password p\n\nmachine shown login u password p\n",
		"machine a\r\nlogin u\r\npassword p\r\n",
		"machine https://h.example/path/ login u password p",
		"login u password p machine a",
		"machine machine login login password password",
		"machine\tx\tlogin\ty\tpassword\tz", "", "\n\n", "machine",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		entries := parseNetrc(data)
		var b strings.Builder
		for i, e := range entries {
			for _, s := range []string{e.machine, e.login, e.password} {
				if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
					t.Fatalf("parseNetrc(%q): entry %d is %+v", data, i, e)
				}
			}
			b.WriteString("machine " + e.machine + " login " + e.login + " password " + e.password + "\n")
		}
		if again := parseNetrc(b.String()); !reflect.DeepEqual(again, entries) {
			t.Fatalf("parseNetrc(%q) = %+v; written back %q: %+v", data, entries, b.String(), again)
		}
		// Lines appended after a "default" line are never read.
		if withDefault := parseNetrc(data + "\ndefault\nmachine m login l password p\n"); !reflect.DeepEqual(withDefault[:min(len(entries), len(withDefault))], entries) {
			t.Fatalf("parseNetrc(%q) = %+v; with a default line and more after it: %+v", data, entries, withDefault)
		}
	})
}

// FuzzParseGOAUTH checks GOAUTH parsing: "off" stands alone, netrc is used
// only when named (or by default), and any other command is refused.
func FuzzParseGOAUTH(f *testing.F) {
	for _, s := range []string{
		"", "netrc", "off", "netrc; netrc", "off;netrc", "git dir", "netrc;", ";",
		"  netrc  ", "netrc extra words", "OFF", "off ; off",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		useNetrc, err := parseGOAUTH(s)
		if err != nil {
			if useNetrc {
				t.Fatalf("parseGOAUTH(%q) = true and error %v", s, err)
			}
			return
		}
		cmds := strings.Split(s, ";")
		for _, c := range cmds {
			w := strings.Fields(c)
			if s != "" && (len(w) == 0 || w[0] != "netrc" && w[0] != "off") {
				t.Fatalf("parseGOAUTH(%q) accepted command %q", s, c)
			}
			if len(w) > 0 && w[0] == "off" && len(cmds) != 1 {
				t.Fatalf("parseGOAUTH(%q) accepted off with others", s)
			}
		}
		if useNetrc != (s == "" || strings.Fields(cmds[0])[0] == "netrc") {
			t.Fatalf("parseGOAUTH(%q) = %v", s, useNetrc)
		}
	})
}

// FuzzParseEnvFile checks that the settings read from a go env file are
// well formed and that a file written from them reads back the same.
func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{
		"GOPROXY=https://proxy.example,direct\nGOPRIVATE=*.corp\n",
		"GOFLAGS=-mod=mod\nGOFLAGS=\n", "# comment\n\nlower=x\n=x\nA\n",
		"GONOSUMDB= spaced value \r\n", "A=B=C", "A=\"quoted\"", "", "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := parseEnvFile(data)
		var b strings.Builder
		for k, v := range m {
			if k == "" || k[0] < 'A' || k[0] > 'Z' || strings.ContainsAny(k, "=\n") || strings.Contains(v, "\n") {
				t.Fatalf("parseEnvFile(%q): %q=%q", data, k, v)
			}
			b.WriteString(k + "=" + v + "\n")
		}
		if again := parseEnvFile([]byte(b.String())); !reflect.DeepEqual(again, m) {
			t.Fatalf("parseEnvFile(%q) = %q; written back: %q", data, m, again)
		}
	})
}
