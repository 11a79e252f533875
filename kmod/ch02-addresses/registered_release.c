// SPDX-License-Identifier: GPL-2.0
/*
 * registered_release.c - registered_port.c with the fix: the registration
 * ends the moment its socket closes, announced by NETLINK_URELEASE, so it
 * can never reach a later socket that is given the same port id.
 *
 * The same source, built a second time with the notifier switched on, so
 * the two modules differ in nothing else.
 */
#define NLBOOK_FORGET_ON_RELEASE
#include "registered_port.c"
