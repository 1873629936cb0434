package redislock

import "github.com/modfetch/modfetch/cache"

// Vanish stops renewing lk without releasing it, as a killed process
// does; its later Unlock still runs the token-checked delete.
func Vanish(lk cache.Lock) {
	l := lk.(*lock)
	l.halt()
}
