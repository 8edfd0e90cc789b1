package transform

import (
	"runtime"
	"syscall"
)

// procAttr puts dbt in its own process group (a cancel signals the group)
// and has the kernel kill it if lakeflight dies first: a dbt orphaned by a
// crash would go on building models after the restart marked its run
// failed. The parent-death signal belongs to the thread that started the
// child, so the caller holds that thread (lockThread) until dbt has exited.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// lockThread keeps the calling goroutine on its OS thread until unlock: Go
// may otherwise end that thread, which would fire the parent-death signal.
func lockThread() (unlock func()) {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
