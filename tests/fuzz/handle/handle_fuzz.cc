// libFuzzer target: the file handle decoders, Exports::from_wire (what PUTFH
// runs) and Vfs::resolve_handle, against a real data dir (SQLite and chunk
// store under $FUZZ_HANDLE_DIR) holding one file system with an access point.
// Besides "no crash", it checks the property the handle signature exists for:
// a handle is accepted only if the server issued exactly those bytes, so no
// edit of a real handle (docs/file-handle.md) names anything.
// Build and run with tests/fuzz/handle/fuzz.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/log.h"
#include "efs/catalog.h"
#include "meta/db.h"
#include "nfs4/export.h"
#include "vfs/vfs.h"

namespace {

using Bytes = std::vector<uint8_t>;

class OneCatalog : public efs::Catalog {
 public:
  efs::ExportedFileSystem fs{"fs-0123456789abcdef0"};
  efs::ExportedAccessPoint ap{"fsap-0123456789abcdef1", "fs-0123456789abcdef0",
                              efs::PosixUser{1000, 1000, {}}, "/ap",
                              efs::CreationInfo{1000, 1000, 0755}};
  std::shared_ptr<const efs::CatalogSnapshot> snap = std::make_shared<efs::CatalogSnapshot>(
      1, std::vector<efs::ExportedFileSystem>{fs}, std::vector<efs::ExportedAccessPoint>{ap},
      std::vector<efs::MountTargetAddress>{});
  std::shared_ptr<const efs::CatalogSnapshot> snapshot() const override { return snap; }
};

struct World {
  std::unique_ptr<efs::meta::Db> db;
  std::unique_ptr<efs::vfs::Vfs> vfs;
  OneCatalog catalog;
  std::unique_ptr<efs::nfs4::Exports> exports;
  std::set<Bytes> issued;                    // every nfs_fh4 handed out
  std::vector<Bytes> issued_list;            // the same, indexable
  std::set<std::pair<Bytes, Bytes>> vfs_ok;  // (binding, vfs handle) pairs made
  std::vector<std::pair<Bytes, Bytes>> vfs_list;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "handle_fuzz: %s\n", what);
  std::abort();
}

void issue(World& w, const efs::nfs4::CurrentFh& fh) {
  if (w.issued.insert(fh.wire).second) w.issued_list.push_back(fh.wire);
  std::size_t prefix = fh.kind == efs::nfs4::FhKind::access_point  ? 10
                       : fh.kind == efs::nfs4::FhKind::file_system ? 1
                                                                   : fh.wire.size();
  if (prefix < fh.wire.size()) {
    std::pair<Bytes, Bytes> p{Bytes(fh.wire.begin(), fh.wire.begin() + prefix),
                              Bytes(fh.wire.begin() + prefix, fh.wire.end())};
    if (w.vfs_ok.insert(p).second) w.vfs_list.push_back(p);
  }
}

World& world() {
  static World* w = [] {
    auto* w = new World;
    spdlog::set_level(spdlog::level::off);
    const char* env = std::getenv("FUZZ_HANDLE_DIR");
    std::string dir = env ? env : "/tmp/fuzz-handle-data-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    auto db = efs::meta::Db::open(dir + "/meta.db");
    if (!db) die("cannot open the db");
    w->db = std::move(*db);
    auto vfs = efs::vfs::Vfs::open(*w->db, dir);
    if (!vfs) die("cannot open the vfs");
    w->vfs = std::move(*vfs);
    if (!w->vfs->create_file_system(w->catalog.fs.id)) die("cannot create the file system");
    auto fs = w->vfs->file_system(w->catalog.fs.id);
    efs::vfs::Cred root;
    // /outside (a directory beside the access point) and /ap/inside.
    (void)fs->mkdir(root, fs->root(), "outside", {});
    w->exports = std::make_unique<efs::nfs4::Exports>(*w->vfs, w->catalog);
    auto fs_root = w->exports->lookup_junction(w->catalog.fs.id);
    auto ap_root = w->exports->lookup_junction(w->catalog.ap.id);
    if (!fs_root || !ap_root) die("cannot reach the exports");
    (void)fs->mkdir(root, ap_root->ino, "inside", {});
    issue(*w, w->exports->pseudo_root());
    issue(*w, *fs_root);
    issue(*w, *ap_root);
    for (const char* name : {"outside", "ap"}) {
      auto a = fs->lookup(root, fs->root(), name);
      if (a) issue(*w, w->exports->child(*fs_root, a->ino));
    }
    auto in = fs->lookup(root, ap_root->ino, "inside");
    if (in) {
      issue(*w, w->exports->child(*ap_root, in->ino));
      issue(*w, w->exports->child(*fs_root, in->ino));
    }
    return w;
  }();
  return *w;
}

// Decodes through the export layer; an accepted handle must be an issued one,
// and through the access point it must stay under its root.
void check_from_wire(World& w, std::span<const uint8_t> bytes) {
  auto r = w.exports->from_wire(bytes);
  if (!r) return;
  if (!w.issued.count(Bytes(bytes.begin(), bytes.end()))) die("accepted a handle never issued");
  if (r->kind == efs::nfs4::FhKind::access_point && r->ino == r->fs->root())
    die("access point handle resolved to the file system root");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  World& w = world();
  if (size == 0) return 0;
  std::span<const uint8_t> in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:  // raw bytes as PUTFH's argument
      check_from_wire(w, in);
      break;
    case 1: {  // an issued handle with edits: (position, xor) pairs, optional truncation
      if (in.empty()) return 0;
      Bytes h = w.issued_list[in[0] % w.issued_list.size()];
      std::size_t i = 1;
      if (i < in.size() && (in[i] & 0x80)) h.resize(in[i] & 0x7f);
      for (++i; i + 1 < in.size() && !h.empty(); i += 2) h[in[i] % h.size()] ^= in[i + 1];
      check_from_wire(w, h);
      break;
    }
    default: {  // the vfs decoder alone: a binding, then a vfs handle
      if (in.empty()) return 0;
      std::size_t blen = std::min<std::size_t>(in[0] % 12, in.size() - 1);
      Bytes binding(in.begin() + 1, in.begin() + 1 + blen);
      Bytes handle(in.begin() + 1 + blen, in.end());
      // Half the time the binding and handle of a real pair, edited by the rest.
      if (!w.vfs_list.empty() && (in[0] & 0x80)) {
        auto p = w.vfs_list[in[0] % w.vfs_list.size()];
        for (std::size_t k = 0; k + 1 < handle.size(); k += 2)
          p.second[handle[k] % p.second.size()] ^= handle[k + 1];
        binding = p.first;
        handle = p.second;
      }
      auto r = w.vfs->resolve_handle(handle, binding);
      if (r && !w.vfs_ok.count({binding, handle})) die("vfs accepted a handle never made");
      break;
    }
  }
  return 0;
}
