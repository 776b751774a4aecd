// A StoreSession on one leased SQLite connection: a write session is one
// BEGIN IMMEDIATE transaction that commits only when asked.
#pragma once

#include "store/sqlite/connection_pool.h"
#include "store/sqlite/repositories.h"
#include "store/store.h"

namespace barbossa::sqlite {

class SqliteSession final : public StoreSession {
 public:
  // A write session begins its transaction here (BEGIN IMMEDIATE).
  SqliteSession(Lease lease, bool write, bool durable);

  ~SqliteSession() override;

  // Rolls back an uncommitted write session.
  void end_transaction();

  UserRepository& users() override { return users_; }
  LibraryRepository& library() override { return library_; }
  ActivityRepository& activity() override { return activity_; }
  MetaRepository& meta() override { return meta_; }
  ImportRepository& imports() override { return imports_; }
  MoveRepository& moves() override { return moves_; }
  JobRepository& jobs() override { return jobs_; }
  ScheduleRepository& schedules() override { return schedules_; }
  DownloadRepository& downloads() override { return downloads_; }

  void commit() override;

 private:
  Lease lease_;
  const bool write_;
  const bool durable_;
  bool committed_ = false;
  SqliteUserRepository users_;
  SqliteLibraryRepository library_;
  SqliteActivityRepository activity_;
  SqliteMetaRepository meta_;
  SqliteImportRepository imports_;
  SqliteMoveRepository moves_;
  SqliteJobRepository jobs_;
  SqliteScheduleRepository schedules_;
  SqliteDownloadRepository downloads_;
};

}  // namespace barbossa::sqlite
