// Package sdnotify speaks systemd's notify protocol (sd_notify(3)) for
// services of Type=notify: READY=1 once the service is ready, WATCHDOG=1
// while it is alive (when the unit sets WatchdogSec), STOPPING=1 when it
// stops. Without $NOTIFY_SOCKET it does nothing.
package sdnotify
