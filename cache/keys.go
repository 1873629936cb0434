package cache

import (
	"context"
	"fmt"
	"strings"
)

// checkOp checks the key of a Store operation op ("get", "delete") and
// that ctx is not done.
func checkOp(ctx context.Context, op, key string) error {
	if err := checkStoreKey(key); err != nil {
		return err
	}
	return ctxErr(ctx, op, key)
}

// ctxErr is nil, or, once ctx is done, the error of operation op on key.
func ctxErr(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cache: %s %s: %w", op, key, context.Cause(ctx))
	}
	return nil
}

// storeKeyError reports a key that breaks the rules in the [Store]
// documentation.
type storeKeyError struct {
	key    string
	reason string
}

func (e *storeKeyError) Error() string {
	return fmt.Sprintf("cache: invalid key %q: %s", e.key, e.reason)
}

// CheckKey reports whether key is a valid [Store] key (nil if it is),
// for Store implementations outside this package: see checkStoreKey.
func CheckKey(key string) error { return checkStoreKey(key) }

// checkStoreKey reports whether key is a valid [Store] key: a non-empty
// slash-separated relative path whose elements are non-empty and neither
// "." nor "..", made only of ASCII letters, digits and "@", "!", "+",
// "~", "-", "_", "." and "/". Every key it accepts names a file strictly
// inside a store's directory on every operating system's path syntax we
// support, because it holds no separator other than "/" and no volume
// or drive syntax.
func checkStoreKey(key string) error {
	if key == "" {
		return &storeKeyError{key, "empty key"}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("@!+~-_./", c) >= 0:
		default:
			return &storeKeyError{key, fmt.Sprintf("invalid character %q at offset %d", c, i)}
		}
	}
	if key[0] == '/' {
		return &storeKeyError{key, "absolute path"}
	}
	for elem := range strings.SplitSeq(key, "/") {
		switch elem {
		case "":
			return &storeKeyError{key, "empty path element"}
		case ".", "..":
			return &storeKeyError{key, fmt.Sprintf("%q path element", elem)}
		}
	}
	return nil
}
