/*
 * key_slot.h: which of Redis Cluster's 16,384 slots a key falls in, as
 * every Redis Cluster client computes it (the Redis Cluster
 * specification, "Keys distribution model"): CRC16 of the key, modulo
 * 16384.  A key holding a hash tag, the bytes between its first '{' and
 * the first '}' after it, when there is at least one byte between them,
 * is hashed by the tag alone, so that {user1}.name and {user1}.age land
 * in one slot.
 *
 * A member answers a redirect with the slot of the key it was asked for
 * (-MOVED SLOT HOST:PORT, member_cluster.c): a client that computes
 * another slot for the same key still follows the address, but files it
 * under the wrong slot, and asks the wrong member next time.
 */
#ifndef KV_RAFT_KEY_SLOT_H
#define KV_RAFT_KEY_SLOT_H

#include <stddef.h>

#define KEY_SLOTS 16384u

/* CRC16 as Redis Cluster uses it (XMODEM: polynomial 0x1021, initial
 * value 0, no reflection, no final xor): "123456789" gives 0x31c3. */
unsigned key_slot_crc16(const unsigned char *p, size_t n);
/* The slot of the key k[0..n), 0..KEY_SLOTS-1. */
unsigned key_slot(const char *k, size_t n);

#endif
