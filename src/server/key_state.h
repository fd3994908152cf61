// Encryption keys of encrypted file systems, and what their KMS key's state
// does to them (issue 15, "Encrypted file systems" and "Key state").
//
// Data keys: each encrypted file system gets a 64-byte data key generated
// under its KMS key (kms::Service::generate_data_key_for_efs, EFS's own call,
// not over HTTP). Only its KMS ciphertext blob is stored, in
// <data dir>/data-keys/<fs-id>.key (mode 0600; docs/schema-kms.md); the
// plaintext lives in memory, registered with the chunk store through
// vfs::Vfs::set_data_key. At start every stored blob is unwrapped again
// (if its KMS key is usable). A file system created encrypted by an older
// efs-local has no blob: it stays unencrypted at rest.
//
// Key state: EFS documents that a file system whose key is disabled or
// deleted, or whose grant is revoked, "stops working after a period of
// time". That period is --kms-revocation-delay on the emulator clock: once
// the key has been unusable (Disabled, PendingDeletion, deleted) for that
// long, the file system's data-access gate closes (vfs::Vfs::set_data_access:
// data operations give NFS4ERR_IO, metadata stays readable) and its data key
// is dropped from memory. A usable key again (EnableKey, CancelKeyDeletion +
// EnableKey) unwraps the stored blob again and opens the gate. A key that
// has been deleted can never unwrap it: the data is unreadable for good.
// EFS's grant is not modelled (efs-local's CreateFileSystem creates none), so
// revoking a grant changes nothing here.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "kms/service.h"
#include "vfs/vfs.h"

namespace efs::server {

class KeyStateMonitor {
 public:
  // revocation_delay: seconds on `clock` (the emulator clock).
  KeyStateMonitor(vfs::Vfs& vfs, kms::Service& kms, Clock& clock, std::string data_dir,
                  double revocation_delay);

  // A file system became available: an encrypted one gets its data key the
  // first time (one already stored is reused: the hook also runs again for
  // a file system whose creation a crash interrupted). Unencrypted: nothing.
  void file_system_available(const std::string& fs_id, bool encrypted, const std::string& key_arn);
  // Server start: an encrypted file system that already exists; its stored
  // data key is unwrapped if its KMS key is usable.
  void adopt(const std::string& fs_id, const std::string& key_arn);
  // A file system was deleted: its stored data key goes too.
  void file_system_deleted(const std::string& fs_id);
  // Looks at every watched KMS key and opens or closes gates; run after a
  // key state change, a clock advance, and periodically.
  void evaluate();

  // The file the wrapped data key of fs_id is stored in.
  std::string key_file(const std::string& fs_id) const;
  // Why fs_id's KMS key cannot be used now (disabled, pending deletion,
  // deleted), from the last evaluate(); nullopt when it can or fs_id is not
  // encrypted. Replication pauses on it (server/replication_runner.h).
  std::optional<std::string> key_unusable(const std::string& fs_id);
  // Tests: whether fs_id's gate is closed now.
  bool refused(const std::string& fs_id);

 private:
  struct Watched {
    std::string key_arn;
    bool registered = false;               // the chunk store holds its data key
    std::optional<double> unusable_since;  // emulator-clock seconds
    std::optional<std::string> unusable;   // why, while unusable
    std::optional<std::string> refused;    // the gate's reason, when closed
  };
  // Unwraps the stored blob and registers it; the reason it could not.
  std::optional<std::string> register_key(const std::string& fs_id, Watched& w);
  void evaluate_locked(const std::string& fs_id, Watched& w);

  vfs::Vfs& vfs_;
  kms::Service& kms_;
  Clock& clock_;
  std::string dir_;  // <data dir>/data-keys
  double delay_;
  std::mutex mu_;
  std::map<std::string, Watched> watched_;  // encrypted file systems with a stored data key
};

}  // namespace efs::server
