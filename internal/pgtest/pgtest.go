// Package pgtest starts throwaway PostgreSQL servers for tests: the
// machine's real server binaries, run as the postgres user in a temp dir,
// reachable only through a unix socket there, with trust authentication.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is one running PostgreSQL server.
type Server struct {
	// SocketDir holds the server's unix socket; it is the "host" to connect to.
	SocketDir string
	// Port is only the number in the socket's name: the server has no TCP listener.
	Port int

	inst     *installation
	dataDir  string
	logFile  string
	exited   chan struct{} // closed once the postmaster is reaped
	stopOnce sync.Once
}

const (
	socketPort   = 5432
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
)

// Start starts a server for this test and stops and removes it when the test
// ends. It skips the test when this machine cannot run PostgreSQL (no root,
// no binaries), except under CI=true where that is a failure.
func Start(t testing.TB) *Server {
	t.Helper()
	inst, err := findInstallation()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: %v", err)
		}
		t.Skipf("pgtest: PostgreSQL unavailable: %v", err)
	}
	dir, err := inst.ownedTempDir("pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s := &Server{
		SocketDir: dir,
		Port:      socketPort,
		inst:      inst,
		dataDir:   filepath.Join(dir, "data"),
		logFile:   filepath.Join(dir, "postgres.log"),
	}
	t.Cleanup(func() {
		s.Stop(t)
		os.RemoveAll(dir)
	})
	if err := s.start(); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// start runs the postmaster as a child of the test binary rather than
// daemonised by pg_ctl, so that it is reaped when it stops (no zombies where
// PID 1 does not reap) and an early death is noticed at once.
func (s *Server) start() error {
	if err := copyTree(s.inst.template, s.dataDir); err != nil {
		return err
	}
	if err := s.appendSettings(); err != nil {
		return err
	}
	logFile, err := os.Create(s.logFile)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(s.inst.binDir, "postgres"), "-D", s.dataDir)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logFile, logFile, "/"
	// Pdeathsig: should the test binary die (a test timeout panics), the
	// server stops with it instead of running on unowned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.inst.owner, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait() // non-zero after an immediate stop, and of no interest
		close(s.exited)
	}()
	return s.waitReady()
}

func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres", "postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited at start; server log:\n%s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %w; server log:\n%s", startTimeout, err, s.logTail())
		}
	}
}

// appendSettings makes this copy of the template listen on its own socket
// only, and trades durability (irrelevant for a throwaway) for speed.
func (s *Server) appendSettings() error {
	settings := fmt.Sprintf(`
listen_addresses = ''
unix_socket_directories = '%s'
port = %d
fsync = off
synchronous_commit = off
full_page_writes = off
`, strings.ReplaceAll(s.SocketDir, "'", "''"), s.Port)
	f, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(settings); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stop stops the server at once (tests use it to make the database vanish
// under an app). It is idempotent; the test's cleanup calls it too.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stopOnce.Do(func() {
		if s.exited == nil {
			return // never started
		}
		cmd := exec.Command(s.pgCtl(), "stop", "-D", s.dataDir, "-m", "immediate", "-w")
		if out, err := s.inst.runAsOwner(cmd); err != nil {
			t.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
		}
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			t.Errorf("pgtest: postgres still running %v after pg_ctl stop", stopTimeout)
		}
	})
}

func (s *Server) pgCtl() string { return filepath.Join(s.inst.binDir, "pg_ctl") }

func (s *Server) logTail() string {
	data, _ := os.ReadFile(s.logFile)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}

// DSN is a keyword/value connection string for database db as user.
func (s *Server) DSN(db, user string) string {
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s sslmode=disable",
		quoteDSNValue(s.SocketDir), s.Port, quoteDSNValue(db), quoteDSNValue(user))
}

// quoteDSNValue quotes as libpq's keyword/value format requires.
func quoteDSNValue(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
}

// Connect opens a connection closed when the test ends.
func (s *Server) Connect(t testing.TB, db, user string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(db, user))
	if err != nil {
		t.Fatalf("pgtest: connect to %s as %s: %v", db, user, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// CreateDatabase creates a login role owner (unless it exists) and a
// database name owned by it, as a NixOS ensureDatabases/ensureUsers pair does.
func (s *Server) CreateDatabase(t testing.TB, name, owner string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := s.Connect(t, "postgres", "postgres")
	role := pgx.Identifier{owner}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", owner).Scan(&exists); err != nil {
		t.Fatalf("pgtest: look up role %s: %v", owner, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
			t.Fatalf("pgtest: create role %s: %v", owner, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" OWNER "+role); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
}
