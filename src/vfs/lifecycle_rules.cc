#include "vfs/lifecycle_rules.h"

#include <charconv>

namespace efs::vfs {

std::optional<int> transition_days(std::string_view rule) {
  constexpr std::string_view kPrefix = "AFTER_";
  if (rule.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  rule.remove_prefix(kPrefix.size());
  int days = 0;
  auto [end, ec] = std::from_chars(rule.data(), rule.data() + rule.size(), days);
  if (ec != std::errc() || days <= 0) return std::nullopt;
  std::string_view unit(end, static_cast<std::size_t>(rule.data() + rule.size() - end));
  if (unit != (days == 1 ? "_DAY" : "_DAYS")) return std::nullopt;
  return days;
}

std::optional<StorageClass> transition_due(const LifecyclePolicy& p, const FileFacts& f) {
  // Metadata and non-file objects live in Standard only.
  if (!f.regular) return std::nullopt;
  if (f.size < kMinTransitionBytes) {
    if (f.cls != StorageClass::standard) return StorageClass::standard;
    return std::nullopt;
  }
  const double idle_days = f.idle_seconds / kSecondsPerDay;
  if (p.archive_days && idle_days >= *p.archive_days) {
    if (f.cls != StorageClass::archive) return StorageClass::archive;
    return std::nullopt;
  }
  if (p.ia_days && idle_days >= *p.ia_days && f.cls == StorageClass::standard)
    return StorageClass::ia;
  return std::nullopt;
}

std::optional<StorageClass> recall_on_access(const LifecyclePolicy& p, StorageClass cls,
                                             bool wrote) {
  if (cls == StorageClass::standard) return std::nullopt;
  if (wrote || p.to_primary_on_access) return StorageClass::standard;
  return std::nullopt;
}

}  // namespace efs::vfs
