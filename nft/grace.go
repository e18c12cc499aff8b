package nft

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// pendingCleanup is a change's last transaction (differ.cleanup), committed
// in the background once a grace period has passed, so the change is in
// force without waiting for it: the next Apply, and every read of the
// table, waits for it first (the table holds what the ruleset applied last
// says once it is done).
type pendingCleanup struct {
	done chan struct{}
	err  error
}

// cleanupLater commits post after a grace period, in the background.
func (k *Kernel) cleanupLater(post *nlBatch) {
	p := &pendingCleanup{done: make(chan struct{})}
	k.pendMu.Lock()
	k.pending = p
	k.pendMu.Unlock()
	go func() {
		defer close(p.done)
		gracePeriod()
		p.err = k.commit(post)
	}()
}

// waitCleanup returns once no cleanup is pending.
func (k *Kernel) waitCleanup() {
	k.pendMu.Lock()
	p := k.pending
	k.pendMu.Unlock()
	if p != nil {
		<-p.done
	}
}

// settle waits for a pending cleanup and takes its outcome: when it
// failed, the table holds more than the ruleset applied last, so the next
// Apply replaces the table (reading it first). The caller holds applyMu.
func (k *Kernel) settle() {
	k.pendMu.Lock()
	p := k.pending
	k.pending = nil
	k.pendMu.Unlock()
	if p == nil {
		return
	}
	<-p.done
	if p.err != nil {
		k.last = nil
		k.stats.fallbacks++
		k.lastDiffErr = fmt.Errorf("deleting what the last change replaced failed, replacing the table: %w", p.err)
	}
}

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
