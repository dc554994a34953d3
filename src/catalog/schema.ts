import type { Db } from './db.js';

/**
 * Ordered schema migrations: entry i upgrades a database from version i to i + 1 (PRAGMA
 * user_version). Append new steps; never edit a released one.
 */
export const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
  // v1: tail checkpoints, episodes and alerts from the index, running totals, phase-mix cache.
  (db) => {
    db.exec(`
      CREATE TABLE checkpoints (
        source TEXT PRIMARY KEY,          -- 'index' | 'alerts'
        dev INTEGER NOT NULL,
        ino INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,        -- hex sha1 of the first fingerprint_len bytes
        fingerprint_len INTEGER NOT NULL,
        offset INTEGER NOT NULL,          -- bytes consumed (always at a line boundary)
        updated_at TEXT NOT NULL
      );
      CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,           -- arrival order in the index
        episode_id TEXT NOT NULL UNIQUE,
        host_id TEXT NOT NULL,
        sha256 TEXT,
        size_bytes INTEGER,
        received_at TEXT,                 -- ISO-8601 UTC
        received_ms INTEGER,              -- for range queries
        path TEXT,
        extra TEXT,                       -- JSON of unknown fields
        first_seen_at TEXT NOT NULL,
        duplicates INTEGER NOT NULL DEFAULT 0,
        ingest_run INTEGER,               -- which server run committed it, and from which line of
        ingest_line INTEGER               -- that run's stream (tells the live feeder "same line")
      );
      CREATE TABLE host_totals (
        host_id TEXT PRIMARY KEY,
        episodes INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        last_received_at TEXT
      );
      CREATE TABLE counters (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        host_id TEXT,
        symptom TEXT,
        detail TEXT,
        suggested_fix TEXT,
        detected_at TEXT,
        detected_ms INTEGER,
        dedup_key TEXT,
        extra TEXT
      );
      CREATE TABLE phase_cache (
        rel_path TEXT PRIMARY KEY,        -- relative to the data root
        host_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        status TEXT NOT NULL,             -- 'ok' or a skip reason
        counts TEXT,                      -- JSON {phase: labels}
        seconds TEXT,                     -- JSON {phase: seconds}
        labels INTEGER NOT NULL DEFAULT 0,
        meta TEXT                         -- JSON of meta.json, when read
      );
    `);
  },
];
