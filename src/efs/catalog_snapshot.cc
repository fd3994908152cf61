// CatalogSnapshot's sorted lists and lookups (catalog.h). Apart from
// catalog.cc so that the NFS side (and its fuzzers) link it without the
// EFS service.
#include <algorithm>

#include "efs/catalog.h"

namespace efs {

CatalogSnapshot::CatalogSnapshot(uint64_t generation, std::vector<ExportedFileSystem> file_systems,
                                 std::vector<ExportedAccessPoint> access_points,
                                 std::vector<MountTargetAddress> mount_targets)
    : generation_(generation),
      file_systems_(std::move(file_systems)),
      access_points_(std::move(access_points)),
      mount_targets_(std::move(mount_targets)) {
  std::stable_sort(file_systems_.begin(), file_systems_.end(),
                   [](const auto& a, const auto& b) { return a.id < b.id; });
  std::stable_sort(access_points_.begin(), access_points_.end(),
                   [](const auto& a, const auto& b) { return a.id < b.id; });
  std::stable_sort(mount_targets_.begin(), mount_targets_.end(),
                   [](const auto& a, const auto& b) { return a.ip < b.ip; });
}

namespace {

// Binary search of a list sorted by `key`.
template <class T, class Key>
const T* find_sorted(const std::vector<T>& v, std::string_view want, Key key) {
  auto it = std::lower_bound(v.begin(), v.end(), want, [&](const T& e, std::string_view w) {
    return std::string_view(key(e)) < w;
  });
  if (it == v.end() || std::string_view(key(*it)) != want) return nullptr;
  return &*it;
}

}  // namespace

const ExportedFileSystem* CatalogSnapshot::file_system(std::string_view id) const {
  return find_sorted(file_systems_, id,
                     [](const ExportedFileSystem& f) -> const std::string& { return f.id; });
}

const ExportedAccessPoint* CatalogSnapshot::access_point(std::string_view id) const {
  return find_sorted(access_points_, id,
                     [](const ExportedAccessPoint& a) -> const std::string& { return a.id; });
}

const MountTargetAddress* CatalogSnapshot::mount_target_at(std::string_view ip) const {
  return find_sorted(mount_targets_, ip,
                     [](const MountTargetAddress& m) -> const std::string& { return m.ip; });
}

}  // namespace efs
