//go:build !linux

package transform

import "syscall"

// procAttr puts dbt in its own process group (a cancel signals the group).
// Outside Linux there is no parent-death signal: a dbt orphaned by a crash
// runs on until it ends by itself.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func lockThread() (unlock func()) { return func() {} }
