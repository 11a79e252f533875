#!/bin/busybox sh
# The lab's guest init. The host appends one `lab_test` line per test, then
# `lab_done`. Everything the host needs is a line starting with "@@LAB".
#
# Two serial ports keep the streams apart: the kernel's console (ttyS0) and
# the tests' channel (ttyS1: markers, program output, dmesg slices), so a
# kernel message can never cut a marker in half.
/bin/busybox --install -s /bin
export PATH=/lab/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec >/dev/ttyS1 2>&1 </dev/null
dmesg -c >/dev/null     # boot messages belong to no test
dmesg -n 8              # every kernel message reaches the console, even if the kernel dies
echo "@@LAB BOOTED $(uname -r)"

# lab_test ID SECONDS 'MODULES' PROGRAM [ARGS...]
lab_test() {
	id=$1 secs=$2 mods=$3
	shift 3
	echo "@@LAB BEGIN $id"
	echo "@@LAB-KMSG BEGIN $id" >/dev/kmsg  # where its part of the console starts
	rc=0 loaded=
	for m in $mods; do
		if insmod "/lab/mod/$m"; then
			loaded="${m##*/} $loaded"
		else
			echo "@@LAB INSMOD-FAILED $m"
			rc=125
		fi
	done
	echo "@@LAB RUN"
	if [ "$rc" = 0 ]; then
		timeout -s KILL "$secs" "$@" 2>&1
		rc=$?
	fi
	echo "@@LAB EXIT $rc"
	for m in $loaded; do
		rmmod "${m%.ko}" || echo "@@LAB RMMOD-FAILED $m"
	done
	echo "@@LAB DMESG"
	dmesg -c
	echo "@@LAB END $id"
}

lab_done() {
	echo "@@LAB DONE"
	reboot -f
}
