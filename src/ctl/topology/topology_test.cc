#include "ctl/topology/topology.h"

#include <gtest/gtest.h>

#include "ctl/topology/render.h"

namespace techmoda::ctl {
namespace {

const char* kThreeZones = R"(
name: drill
regions:
  - name: a
    id: 7
    zones: [a1, {name: a2, catalogd: 2}, {name: a3, catalogd_max: 2}]
patroni: {ttl: 20, loop_wait: 2, retry_timeout: 9}
)";

TEST(Topology, DerivesAddressesUsersAndFolders) {
  auto t = ParseTopology(kThreeZones, "drill.yaml", "/srv/var");
  ASSERT_TRUE(t.ok()) << t.status().detail();
  ASSERT_EQ(t->regions.size(), 1u);
  const auto& r = t->regions[0];
  EXPECT_EQ(r.address, "127.0.70.1");
  ASSERT_EQ(r.zones.size(), 3u);
  EXPECT_EQ(r.zones[1].address, "127.0.72.1");
  EXPECT_EQ(r.zones[1].os_user, "tm-z72");
  EXPECT_EQ(r.zones[1].catalogd_instances, 2);
  EXPECT_EQ(r.zones[2].dir, "/srv/var/drill/a3");
  EXPECT_EQ(t->NftTable(), "techmoda_drill");
}

TEST(Topology, NamesEveryProblemAtOnce) {
  auto t = ParseTopology(R"(
name: Bad Name
regions:
  - name: a
    id: 30
    zones: [a1, a1]
patroni: {ttl: 10, loop_wait: 2, retry_timeout: 9}
colour: blue
)",
                         "bad.yaml", "/var");
  ASSERT_FALSE(t.ok());
  const std::string d = t.status().detail();
  EXPECT_NE(d.find("topology.name"), std::string::npos) << d;
  EXPECT_NE(d.find("regions[0].id: 30 is outside 1..24"), std::string::npos) << d;
  EXPECT_NE(d.find("'a1' is used twice"), std::string::npos) << d;
  EXPECT_NE(d.find("loop_wait + 2 * retry_timeout must not exceed ttl"), std::string::npos) << d;
  EXPECT_NE(d.find("unknown key 'colour'"), std::string::npos) << d;
}

TEST(Topology, RejectsWhatIsNotYaml) {
  EXPECT_FALSE(ParseTopology("regions: [", "x.yaml", "/var").ok());
  EXPECT_FALSE(ParseTopology("- a\n- b\n", "x.yaml", "/var").ok());
  EXPECT_FALSE(ParseTopology("name: x\nregions: []\n", "x.yaml", "/var").ok());
}

TEST(Topology, DrillSettingsAreOffUnlessAskedForAndChecked) {
  auto plain = ParseTopology(kThreeZones, "drill.yaml", "/srv/var");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->drills.clock_skew);
  EXPECT_EQ(plain->drills.wal_disk_mb, 0);
  auto on =
      ParseTopology(std::string(kThreeZones) + "drills: {clock_skew: true, wal_disk_mb: 1024}\n", "d.yaml", "/srv/var");
  ASSERT_TRUE(on.ok()) << on.status().detail();
  EXPECT_TRUE(on->drills.clock_skew);
  EXPECT_EQ(on->drills.wal_disk_mb, 1024);
  EXPECT_EQ(Topology::WalDiskDir(on->regions[0].zones[0]), "/srv/var/drill/a1/wal-disk");
  auto bad = ParseTopology(std::string(kThreeZones) + "drills: {wal_disk_mb: 100, clock: 5}\n", "d.yaml", "/srv/var");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().detail().find("drills.wal_disk_mb: 100 is too small"), std::string::npos)
      << bad.status().detail();
  EXPECT_NE(bad.status().detail().find("clock"), std::string::npos) << bad.status().detail();
}

TEST(Render, DrillZonesGetTheirOwnPgWalAndAMovableClock) {
  auto t =
      ParseTopology(std::string(kThreeZones) + "drills: {clock_skew: true, wal_disk_mb: 1024}\n", "d.yaml", "/srv/var");
  ASSERT_TRUE(t.ok());
  Secrets s{"su-secret", "repl-secret", "rew-secret", "cat-secret", "api-secret", "adm-token", "cli-token"};
  for (const auto& f : Render(*t, s, RenderTarget::kLocal)) {
    if (f.path == "/srv/var/drill/a1/patroni.yml") {
      // initdb and pg_basebackup both, so a re-cloned replica keeps pg_wal on its filesystem.
      std::size_t first = f.content.find("waldir: /srv/var/drill/a1/wal-disk/pg_wal");
      ASSERT_NE(first, std::string::npos) << f.content;
      EXPECT_NE(f.content.find("waldir: /srv/var/drill/a1/wal-disk/pg_wal", first + 1), std::string::npos);
      EXPECT_NE(f.content.find("max_wal_size: 256MB"), std::string::npos);
      EXPECT_NE(f.content.find("wal_keep_size: 256MB"), std::string::npos);
    }
    if (f.path.ends_with("supervisord.conf")) {
      std::string preload =
          "LD_PRELOAD=\"" + ClockSkewLibrary() + "\",TECHMODA_CLOCK_OFFSET_FILE=\"/srv/var/drill/a1/clock-offset\"";
      for (const char* program : {"[program:patroni-a1]", "[program:detector-a1]", "[program:catalogd-a1-1]"}) {
        auto at = f.content.find(program);
        ASSERT_NE(at, std::string::npos) << program;
        EXPECT_EQ(f.content.find(preload, at), f.content.find("environment=", at) + 12) << program;
      }
      auto etcd = f.content.find("[program:etcd-a1]");
      ASSERT_NE(etcd, std::string::npos);
      EXPECT_GT(f.content.find("environment=", etcd), f.content.find("[program:", etcd + 1))
          << "etcd reads the clock itself; it gets no preload";
    }
  }
}

TEST(Render, EveryZoneGetsItsOwnConfigurationAndNoSecretLeavesItsFile) {
  auto t = ParseTopology(kThreeZones, "drill.yaml", "/srv/var");
  ASSERT_TRUE(t.ok());
  Secrets s{"su-secret", "repl-secret", "rew-secret", "cat-secret", "api-secret", "adm-token", "cli-token"};
  auto files = Render(*t, s, RenderTarget::kLocal);
  int patroni = 0, zone_backup_confs = 0;
  for (const auto& f : files) {
    EXPECT_EQ(f.mode & 077, f.path.ends_with(".service") ? 044 : 0) << f.path;
    if (f.path.ends_with("patroni.yml")) {
      ++patroni;
      EXPECT_NE(f.content.find("synchronous_mode: true"), std::string::npos);
      EXPECT_NE(f.content.find("\netcd:\n"), std::string::npos) << "the v2 store, not etcd3";
      EXPECT_EQ(f.content.find("\netcd3:"), std::string::npos);
      EXPECT_EQ(f.content.find("trust"), std::string::npos) << "no trust anywhere";
      EXPECT_NE(f.content.find("scram-sha-256"), std::string::npos);
      EXPECT_NE(f.content.find("ttl: 20"), std::string::npos);
      EXPECT_NE(f.content.find("archive_mode: 'on'"), std::string::npos);
      EXPECT_NE(f.content.find("archive_command: 'test ! -e /srv/var/drill/a/ARCHIVE-STALLED && /usr/bin/pgbackrest "
                               "--config=/srv/var/drill/"),
                std::string::npos)
          << f.content;
      EXPECT_NE(f.content.find("--stanza=catalog archive-push %p'"), std::string::npos);
    }
    if (f.path.ends_with("supervisord.conf")) {
      // Drills decide restarts, but for the detectors: their agent's "down" holds until they say "up".
      std::size_t restarting = 0;
      for (auto at = f.content.find("autorestart=true"); at != std::string::npos;
           at = f.content.find("autorestart=true", at + 1)) {
        ++restarting;
        EXPECT_EQ(f.content.rfind("[program:detector-", at), f.content.rfind("[program:", at)) << "only detectors";
      }
      EXPECT_EQ(restarting, 3u);
      EXPECT_NE(f.content.find("--enable-v2=true"), std::string::npos);
      EXPECT_NE(f.content.find("--pre-vote"), std::string::npos);
      EXPECT_EQ(f.content.find("secret"), std::string::npos) << "no password on a command line";
      EXPECT_NE(f.content.find("[program:postgres-exporter-a2]"), std::string::npos);
      EXPECT_NE(f.content.find("[program:detector-a2]"), std::string::npos);
      EXPECT_NE(f.content.find("catalogctl detector --config /srv/var/drill/a2/detector.yaml\nuser=tm-z72"),
                std::string::npos)
          << f.content;
      for (const char* p : {"[program:prometheus]", "[program:alertmanager]", "[program:responder]", "[program:canary]",
                            "[program:status-page]", "--cluster.listen-address= "})
        EXPECT_NE(f.content.find(p), std::string::npos) << p;
    }
    if (f.path.ends_with("/pgbackrest.conf") && f.path.find("/backup/") == std::string::npos) {
      // A zone: pushes WAL asynchronously to the repository host, serves its data to it over TLS only.
      ++zone_backup_confs;
      EXPECT_NE(f.content.find("archive-async=y"), std::string::npos);
      EXPECT_NE(f.content.find("repo1-host=127.0.70.3\nrepo1-host-type=tls"), std::string::npos) << f.content;
      EXPECT_NE(f.content.find("tls-server-auth=127.0.70.3=catalog"), std::string::npos);
      EXPECT_NE(f.content.find("repo1-host-config=/srv/var/drill/backup/pgbackrest.conf"), std::string::npos);
    }
    if (f.path == "/srv/var/drill/backup/pgbackrest.conf") {
      // The repository host: every zone is a pgN host and an authorised client; retention as set.
      EXPECT_EQ(f.owner, "tm-backup");
      for (const char* want : {"pg1-host=127.0.71.1", "pg3-host=127.0.73.1", "tls-server-auth=127.0.72.1=catalog",
                               "pg2-host-config=/srv/var/drill/a2/pgbackrest.conf", "repo1-retention-full=2",
                               "repo1-path=/srv/var/drill/backup/repo"})
        EXPECT_NE(f.content.find(want), std::string::npos) << want << "\n" << f.content;
    }
    if (f.path.ends_with("prometheus.yml")) {
      // Every part is scraped, with the labels the rules rely on; autoscaled extras apart.
      for (const char* p : {"job_name: catalogd\n", "job_name: catalogd_elastic", "job_name: patroni",
                            "job_name: postgres", "job_name: etcd", "job_name: haproxy", "job_name: node",
                            "job_name: canary", "job_name: responder", "{region: a, zone: a2, instance: a2-1}",
                            "'127.0.70.2:9093'", "/srv/var/drill/monitoring/catalog-rules.yml"})
        EXPECT_NE(f.content.find(p), std::string::npos) << p << "\n" << f.content;
      auto elastic = f.content.substr(f.content.find("job_name: catalogd_elastic"));
      EXPECT_LT(elastic.find("a3-2"), elastic.find("job_name: patroni")) << "a3-2 is above the minimum";
      EXPECT_EQ(elastic.find("a2-2"), std::string::npos) << "a2-2 is within the minimum";
    }
    if (f.path.ends_with("alertmanager.yml")) {
      EXPECT_NE(f.content.find("url: http://127.0.70.2:9096/alerts"), std::string::npos) << f.content;
    }
    if (f.path.ends_with("haproxy.cfg")) {
      EXPECT_NE(f.content.find("uri /primary"), std::string::npos);
      EXPECT_NE(f.content.find("uri /replica"), std::string::npos);
      EXPECT_NE(f.content.find("server a2-2 127.0.72.1:8081 check"), std::string::npos) << f.content;
      EXPECT_EQ(f.content.find("secret"), std::string::npos);
      // The write port asks each zone's detector too; the read port does not.
      auto primary = f.content.substr(f.content.find("listen postgres-primary"));
      primary = primary.substr(0, primary.find("\n\n"));
      EXPECT_NE(primary.find("server a2 127.0.72.1:5432 check addr 127.0.72.1 port 8008 agent-check agent-addr "
                             "127.0.72.1 agent-port 8011 agent-inter 250ms"),
                std::string::npos)
          << primary;
      auto replicas = f.content.substr(f.content.find("listen postgres-replicas"));
      EXPECT_EQ(replicas.substr(0, replicas.find("\n\n")).find("agent-check"), std::string::npos);
    }
  }
  EXPECT_EQ(patroni, 3);
  EXPECT_EQ(zone_backup_confs, 3);

  // A replaced etcd member joins the existing cluster; the others keep founding it.
  auto replaced = *t;
  replaced.regions[0].zones[1].etcd_join_existing = true;
  for (const auto& f : Render(replaced, s, RenderTarget::kLocal))
    if (f.path.ends_with("supervisord.conf")) {
      EXPECT_NE(f.content.find("--name a2 "), std::string::npos);
      auto a2 = f.content.substr(f.content.find("--name a2 "));
      EXPECT_LT(a2.find("--initial-cluster-state existing"), a2.find('\n'));
      auto a1 = f.content.substr(f.content.find("--name a1 "));
      EXPECT_LT(a1.find("--initial-cluster-state new"), a1.find('\n'));
    }

  auto real = Render(*t, s, RenderTarget::kSystemd);
  int units = 0;
  for (const auto& f : real) {
    EXPECT_EQ(f.path[0] == '/', false) << "relative to the output folder: " << f.path;
    units += f.path.ends_with(".service");
    EXPECT_EQ(f.content.find("/srv/var"), std::string::npos) << "no local paths on a real host: " << f.path;
  }
  EXPECT_EQ(units, 12);  // etcd, Patroni, the failure detector and catalogd@ on each of 3 hosts
}

}  // namespace
}  // namespace techmoda::ctl
