package nft

import (
	"time"

	"golang.org/x/sys/unix"
)

// membarrierCmdGlobal is MEMBARRIER_CMD_GLOBAL (linux/membarrier.h): the
// call returns after an RCU grace period (synchronize_rcu).
const membarrierCmdGlobal = 1

// gracePeriod returns once no packet can still be walking the rules the
// last commit replaced: the kernel walks a packet through its hooks inside
// RCU read-side sections, and membarrier(MEMBARRIER_CMD_GLOBAL) waits for
// every such section that had begun (8-16 ms on the 2-vCPU test machine).
// Where the call is refused (a kernel with nohz_full CPUs), a pause far
// longer than any packet's walk stands in for it.
func gracePeriod() {
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdGlobal, 0, 0); errno != 0 {
		time.Sleep(20 * time.Millisecond)
	}
}
