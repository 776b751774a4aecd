// Cron schedules' stored state and the firings claimed from them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace barbossa {

// A cron schedule's stored state (SPEC 8; the `schedules` table). Times are
// Unix seconds, the unit of core/cron.h; nullopt is NULL (never ran / no
// firing computed yet).
struct ScheduleRow {
  std::string name;
  std::string cron;
  bool enabled = true;
  std::optional<int64_t> last_run;  // fire time of the latest scheduled firing
  std::optional<int64_t> next_run;  // the next firing as last computed
};

// Writes belong in a write session. claim_firing is what makes each firing
// happen exactly once across processes: the (name, fire_time) primary key
// lets exactly one INSERT succeed.
class ScheduleRepository {
 public:
  virtual ~ScheduleRepository() = default;
  // Inserts the definition or updates cron and enabled, keeping last_run (the
  // missed-run check needs it). next_run is kept too unless the cron text
  // changed: it was computed from the old expression.
  virtual void upsert(const std::string& name, const std::string& cron, bool enabled) = 0;
  virtual std::vector<ScheduleRow> list() = 0;  // by name
  virtual std::optional<ScheduleRow> find(const std::string& name) = 0;
  // True when this call inserted the firing row, i.e. this caller runs it.
  virtual bool claim_firing(const std::string& name, int64_t fire_time) = 0;
  // Firing rows older than `before` are only history; returns how many went.
  virtual int64_t prune_firings(const std::string& name, int64_t before) = 0;
  // Never moves last_run backwards: a process lagging behind another cannot
  // undo the newer firing it recorded.
  virtual void set_last_run(const std::string& name, int64_t fire_time) = 0;
  virtual void set_next_run(const std::string& name, std::optional<int64_t> next_run) = 0;
};

}  // namespace barbossa
