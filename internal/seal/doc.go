// Package seal encrypts everything MedBox stores (R-X3). Each file, licence proof
// or preview gets a random 256-bit data key, kept in the database wrapped by a
// master key that can be rotated (Master, NewKey, Key, DestroyKey, Rotate); Store
// seals objects with a data key before they reach any blob.Store.
//
// # Key file
//
// The master keys live in a key file, created with mode 0600 on first start and
// refused if group or others may read it. It lists the keys and names the current
// one, which wraps new data keys; every listed key can unwrap:
//
//	# MedBox master keys. Secret: keep mode 0600 and never put this file in a backup.
//	medbox-master-keys v1
//	current mk-1f0c9e7a55d2b843
//	key mk-0a1b2c3d4e5f6071 3q2+7wBkQ5yRk5m3rM7l0ZcM2m1Q0q1d3oX0n7wTz8Y=
//	key mk-1f0c9e7a55d2b843 q0B0Ck2W7c0mYb0n4F0o8l3m1x4pY1b2c3d4e5f6g7E=
//
// A key line gives an id ([A-Za-z0-9._-], at most 64 bytes) and 32 bytes in
// standard base64. Blank lines and lines starting with '#' are ignored. During a
// rotation the file lists the old keys and the new current one; afterwards only
// the new one. Parse reads the same format from the environment, and also a bare
// base64 key (as from `openssl rand -base64 32`), whose id is derived from it.
//
// # Wrapped data keys
//
// A row of seal_keys holds a data key sealed with AES-256-GCM under the master key
// named in master_id: a format byte (1), a random 12-byte nonce, the ciphertext and
// tag. The additional data binds it to its row id and master id, so a wrapped key
// copied to another row does not unwrap.
//
// # Sealed objects
//
// An object is a DARE 2.0 stream (github.com/minio/sio, AES-256-GCM): 64 KiB
// packages, each with a 16-byte header and a 16-byte tag, numbered in sequence,
// the last one marked final. Its key is HKDF-SHA256 of the data key with the
// object's key string (which carries the file id and chunk index) as info, so an
// object moved to another key, reordered or dropped packages, and a cut-off end
// fail to authenticate (ErrCorrupt). A Range read fetches and decrypts only the
// packages it covers. An empty object, which DARE cannot express, is stored as a
// 32-byte HMAC of its key.
//
// # Small values
//
// DataKey.SealBytes seals a small secret (a TOTP seed) for a database column:
// AES-256-GCM under HKDF-SHA256 of the data key with the info string
// "medbox/seal/small/v1", so the subkey differs from every object key. The result
// is a format byte (1), a random 12-byte nonce, the ciphertext and the tag. The
// caller's additional data (which row and owner the value belongs to) is bound to
// it, so a value copied elsewhere fails to open (ErrSmallCorrupt). The data key
// is an ordinary seal_keys row, so Rotate rewraps it and DestroyKey erases it.
//
// # MAC keys
//
// DataKey.MAC derives an HMAC-SHA256 key for one purpose: HKDF-SHA256 of the
// data key with the salt "medbox/seal/mac/v1" and the purpose's label as info
// (the audit log uses "medbox/audit/chain/v2" for its events and
// "medbox/audit/checkpoint/v2" for its checkpoints). The salt differs from
// those of objects and small values, so no MAC key equals an encryption key
// derived from the same data key, and the derived key never leaves the package.
package seal
