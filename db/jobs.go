package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// On Postgres the background work is River's jobs
// (github.com/riverqueue/river), in this database: its tables (river_job,
// river_leader, ...) are made by River's own migrations, which Migrate runs
// after Skiff's, under the same lock. The app makes the River client
// (app/jobs.go) with the driver below; a job is inserted in the transaction
// of the change that causes it (Queries.Tx).

// riverPools are the connections River works through: its own pool, READ
// COMMITTED as River expects (the write pool's SERIALIZABLE would make its
// job fetching fail under load), and one for LISTEN, so a job inserted by
// one instance is picked up at once by another.
type riverPools struct {
	sql    *sql.DB
	listen *pgxpool.Pool
}

func (d *DB) openRiverPools(url string) error {
	cfg, err := pgxpoolConfig(url)
	if err != nil {
		return err
	}
	listen, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	conn, err := pgxConnConfig(url)
	if err != nil {
		listen.Close()
		return err
	}
	p := sql.OpenDB(pgConnector{base: stdlib.GetConnector(*conn)})
	p.SetMaxOpenConns(3)
	p.SetMaxIdleConns(3)
	p.SetConnMaxIdleTime(5 * time.Minute)
	d.river = &riverPools{sql: p, listen: listen}
	return nil
}

func pgxpoolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "skiff"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.MaxConns = 1 // River hijacks its listening connection from it
	cfg.MinConns = 0
	return cfg, nil
}

func (r *riverPools) close() {
	if r != nil {
		r.sql.Close()
		r.listen.Close()
	}
}

// RiverDriver returns the River driver for this database, nil on SQLite.
func (d *DB) RiverDriver() *riverdatabasesql.Driver {
	if d.river == nil {
		return nil
	}
	return riverdatabasesql.NewWithPgxListener(d.river.sql, d.river.listen)
}

// Tx returns the transaction q is bound to, nil outside one: for a library
// that joins it, as River's InsertTx does.
func (q Queries) Tx() *sql.Tx { return q.tx }

// migrateRiver applies River's migrations, returning their names.
func (d *DB) migrateRiver(ctx context.Context) ([]string, error) {
	m, err := rivermigrate.New(d.RiverDriver(), nil)
	if err != nil {
		return nil, err
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("db: River's migrations: %w", err)
	}
	var names []string
	for _, v := range res.Versions {
		names = append(names, fmt.Sprintf("river %03d %s", v.Version, v.Name))
	}
	return names, nil
}

// riverPending returns what River says is not yet applied.
func (d *DB) riverPending(ctx context.Context) ([]string, error) {
	m, err := rivermigrate.New(d.RiverDriver(), nil)
	if err != nil {
		return nil, err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return nil, err
	}
	return res.Messages, nil
}
