package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"skiff/db"
)

// Background work: delivering mail, keeping paying teams' seats in step,
// the nightly Stripe sync, scheduled backups and clearing expired tokens.
// Each must run once per database, whatever the number of instances.
//
//   - On SQLite one process serves the database (runServe holds the file's
//     lock), so the work runs in it, as goroutines (localJobs): the outbox
//     polls the emails table and is woken after each commit that queued mail.
//   - On Postgres several instances share the database, and the work is
//     River's jobs (riverJobs): a mail's job is inserted in the transaction
//     that queues the mail, so it exists exactly when the mail does; River
//     hands each job to one instance, retries it, and runs the periodic
//     passes on the instance elected leader only.
//
// Both do the same work with the same functions (outbox.deliver, syncSeats,
// syncStripe, ...); jobRunner is all the rest of the app sees.
type jobRunner interface {
	start(ctx context.Context) error
	// stop lets the work under way finish (cancel start's ctx first).
	stop()
	// mailQueued is called in the transaction that queued mail id.
	mailQueued(ctx context.Context, q db.Queries, id int64) error
	// seatsChanged asks for teams' seats to be brought to their members,
	// after the commit that changed them. It never blocks a request.
	seatsChanged(teamIDs ...int64)
}

func newJobRunner(s *Server) (jobRunner, error) {
	if s.db.Postgres() {
		return newRiverJobs(s)
	}
	return &localJobs{s: s, seatQueue: make(chan int64, 256)}, nil
}

// cleanUpEvery is how often expired tokens (and, on Postgres, sessions)
// are deleted.
const cleanUpEvery = time.Hour

// cleanUp deletes what can no longer be used: mailed tokens a day past
// their expiry, and on Postgres expired sessions (on SQLite sqlite3store
// does it itself, every 30 minutes) and rate-limit buckets full again.
func (s *Server) cleanUp(ctx context.Context) error {
	if err := s.db.DeleteExpiredTokens(ctx); err != nil {
		return err
	}
	if s.db.Postgres() {
		if err := s.db.DeleteExpiredSessions(ctx); err != nil {
			return err
		}
		return s.db.DeleteFullBuckets(ctx)
	}
	return nil
}

// localJobs runs the work in this process (SQLite).
type localJobs struct {
	s         *Server
	started   bool
	seatQueue chan int64 // teams whose members changed, for the seat worker
}

func (j *localJobs) start(ctx context.Context) error {
	s := j.s
	j.started = true
	go s.outbox.run(ctx)
	go s.runNightlySync(ctx)
	go j.runSeatSync(ctx)
	go s.runScheduledBackups(ctx)
	go func() {
		t := time.NewTicker(cleanUpEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.cleanUp(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("clean-up of expired tokens", "err", err)
				}
			}
		}
	}()
	return nil
}

func (j *localJobs) stop() {
	if j.started {
		<-j.s.outbox.done
	}
}

// mailQueued: nothing in the transaction; the handler's s.outbox.notify()
// after the commit wakes the outbox.
func (j *localJobs) mailQueued(context.Context, db.Queries, int64) error { return nil }

func (j *localJobs) seatsChanged(teamIDs ...int64) {
	if j.s.stripe == nil {
		return
	}
	for _, id := range teamIDs {
		select {
		case j.seatQueue <- id:
		default: // full: the next pass over every team does it
		}
	}
}

// runSeatSync is the seat worker: it syncs the teams it is told about, and
// every team on each pass, until ctx ends.
func (j *localJobs) runSeatSync(ctx context.Context) {
	s := j.s
	if s.stripe == nil {
		return
	}
	t := time.NewTicker(seatSyncEvery)
	defer t.Stop()
	s.syncAllSeatsLogged(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-j.seatQueue:
			if _, err := s.syncSeats(ctx, id); err != nil && ctx.Err() == nil {
				s.log.Error("seats: update the team's subscription; the next pass retries", "team_id", id, "err", err)
			}
		case <-t.C:
			s.syncAllSeatsLogged(ctx)
		}
	}
}

// River's jobs (Postgres). Each kind's arguments are stored as JSON in
// river_job; the names are stable, as jobs may wait across a deploy.

type sendMailArgs struct {
	ID int64 `json:"id"`
}

func (sendMailArgs) Kind() string { return "send_mail" }

// One job per mail: the sweep below cannot add a second beside a waiting or
// running one. A finished one does not count: a mail still pending after its
// job (sent, but not marked so) is queued again by the next sweep.
func (sendMailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// syncSeatsArgs brings one team's seats to its members. Each change adds
// one, not unique: a job already running may have read the members before
// this change. syncSeats compares before it calls Stripe, so a second job
// for a team in step costs one read.
type syncSeatsArgs struct {
	Team int64 `json:"team"`
}

func (syncSeatsArgs) Kind() string { return "sync_seats" }

type seatPassArgs struct{}

func (seatPassArgs) Kind() string { return "seat_pass" }

type stripeSyncArgs struct{}

func (stripeSyncArgs) Kind() string { return "stripe_sync" }

// mailSweepArgs gives a job to any due mail without one: mail queued before
// the database moved to Postgres (skiff copy-to-postgres), or whose job was
// lost with a restore.
type mailSweepArgs struct{}

func (mailSweepArgs) Kind() string { return "mail_sweep" }

type cleanUpArgs struct{}

func (cleanUpArgs) Kind() string { return "clean_up" }

// backupArgs writes a snapshot into BACKUP_DIR (of the instance that runs
// it) and prunes the old ones. Its queue is worked only by instances with a
// BACKUP_DIR.
type backupArgs struct{}

func (backupArgs) Kind() string { return "backup" }
func (backupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: backupQueue}
}

const backupQueue = "backup"

// longJob is a worker whose job may take longer than jobTimeout: a snapshot
// of a large database, the Stripe sync of many customers. Past
// jobRescueAfter, River may start it again on another instance while it
// still runs; both are safe to run twice (a second snapshot, a second pass).
type longJob[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	work func(ctx context.Context, job *river.Job[T]) error
}

func (w *longJob[T]) Work(ctx context.Context, job *river.Job[T]) error { return w.work(ctx, job) }
func (w *longJob[T]) Timeout(*river.Job[T]) time.Duration               { return time.Hour }

// riverJobs runs the work as River's jobs (Postgres).
type riverJobs struct {
	s       *Server
	client  *river.Client[*sql.Tx]
	started bool
}

// River's timings. A job running on an instance that died (kill -9, a lost
// machine) is handed to another after jobRescueAfter; no job should run
// longer than jobTimeout.
const (
	jobTimeout     = 4 * time.Minute
	jobRescueAfter = 5 * time.Minute
	mailSweepEvery = time.Minute
)

func newRiverJobs(s *Server) (*riverJobs, error) {
	j := &riverJobs{s: s}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(j.sendMail))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[syncSeatsArgs]) error {
		_, err := s.syncSeats(ctx, job.Args.Team)
		if err != nil {
			s.log.Error("seats: update the team's subscription; River retries, and the next pass too", "team_id", job.Args.Team, "attempt", job.Attempt, "err", err)
		}
		return err
	}))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[seatPassArgs]) error {
		_, err := s.syncAllSeats(ctx)
		return err
	}))
	river.AddWorker(workers, &longJob[stripeSyncArgs]{work: func(ctx context.Context, job *river.Job[stripeSyncArgs]) error {
		n, err := s.syncStripe(ctx)
		s.log.Info("nightly stripe sync", "synced", n, "err", err)
		return err
	}})
	river.AddWorker(workers, river.WorkFunc(j.sweepMail))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[cleanUpArgs]) error {
		return s.cleanUp(ctx)
	}))
	river.AddWorker(workers, &longJob[backupArgs]{work: func(ctx context.Context, job *river.Job[backupArgs]) error {
		return s.scheduledBackup(ctx) // a failure is logged, and River tries again
	}})

	periodic := func(every time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
			// One per period, even when leadership moves meanwhile.
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
		}, &river.PeriodicJobOpts{RunOnStart: true})
	}
	jobs := []*river.PeriodicJob{
		periodic(mailSweepEvery, mailSweepArgs{}),
		periodic(cleanUpEvery, cleanUpArgs{}),
	}
	if s.stripe != nil {
		jobs = append(jobs, periodic(seatSyncEvery, seatPassArgs{}), periodic(24*time.Hour, stripeSyncArgs{}))
	}
	if s.cfg.BackupDir != "" {
		backup := river.NewPeriodicJob(river.PeriodicInterval(s.cfg.BackupInterval), func() (river.JobArgs, *river.InsertOpts) {
			return backupArgs{}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: s.cfg.BackupInterval}}
		}, nil) // not on start: a deploy would take one each time
		jobs = append(jobs, backup)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}
	if s.cfg.BackupDir != "" {
		queues[backupQueue] = river.QueueConfig{MaxWorkers: 1}
	}
	client, err := river.NewClient(s.db.RiverDriver(), &river.Config{
		Logger:               s.log,
		Workers:              workers,
		Queues:               queues,
		PeriodicJobs:         jobs,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: jobRescueAfter,
		// A failed job waits as River's default policy says (attempt⁴
		// seconds, about a day in all); mail keeps its own schedule.
		MaxAttempts: 10,
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	j.client = client
	return j, nil
}

func (j *riverJobs) start(ctx context.Context) error {
	// Not ctx: Start's context ending would stop River at once, and stop
	// lets the jobs under way finish instead.
	if err := j.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	j.started = true
	return nil
}

func (j *riverJobs) stop() {
	if !j.started {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.client.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		j.s.log.Error("jobs: stop", "err", err)
	}
}

func (j *riverJobs) mailQueued(ctx context.Context, q db.Queries, id int64) error {
	if q.Tx() == nil {
		return errors.New("jobs: mail queued outside a transaction")
	}
	_, err := j.client.InsertTx(ctx, q.Tx(), sendMailArgs{ID: id}, nil)
	return err
}

func (j *riverJobs) seatsChanged(teamIDs ...int64) {
	if j.s.stripe == nil {
		return
	}
	for _, id := range teamIDs {
		// Not the request's context: the seats change whether or not the
		// visitor waits for the answer.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := j.client.Insert(ctx, syncSeatsArgs{Team: id}, nil)
		cancel()
		if err != nil {
			j.s.log.Error("seats: queue the team's update; the next pass does it", "team_id", id, "err", err)
		}
	}
}

// sendMail delivers one mail, once: the mail's own row says whether it is
// still to be sent, and its retry schedule is the outbox's (5 s, doubling,
// at most an hour apart, given up after 72 hours).
func (j *riverJobs) sendMail(ctx context.Context, job *river.Job[sendMailArgs]) error {
	e, err := j.s.db.PendingEmail(ctx, job.Args.ID)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if retry := j.s.outbox.deliver(e); retry > 0 {
		return river.JobSnooze(retry)
	}
	return nil
}

// sweepMail queues a job for every due mail that has none (one already
// there for a mail is not doubled: sendMailArgs.InsertOpts).
func (j *riverJobs) sweepMail(ctx context.Context, job *river.Job[mailSweepArgs]) error {
	due, err := j.s.db.DueEmails(ctx, time.Now(), 500)
	if err != nil {
		return err
	}
	for _, e := range due {
		if _, err := j.client.Insert(ctx, sendMailArgs{ID: e.ID}, nil); err != nil {
			return err
		}
	}
	return nil
}
