package apps

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var errUserLimit = errors.New("user limit reached")

type account struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// createAccount signs up a user as the operator's settings allow: 403 while
// registrations are closed, 409 at the user limit or for a taken name.
func (a *App) createAccount(w http.ResponseWriter, r *http.Request) {
	if !a.cfg.Settings.RegistrationsOpen {
		writeError(w, http.StatusForbidden, "registrations are closed")
		return
	}
	var in account
	if !readJSON(w, r, &in) {
		return
	}
	if err := checkText("name", in.Name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id, err := a.insertAccount(r.Context(), in.Name)
	switch {
	case errors.Is(err, errUserLimit):
		writeError(w, http.StatusConflict, fmt.Sprintf("%v: at most %d accounts", err, a.cfg.Settings.UserLimit))
	case isUniqueViolation(err):
		writeError(w, http.StatusConflict, fmt.Sprintf("name %q is taken", in.Name))
	case err != nil:
		writeDatabaseError(w, err)
	default:
		writeJSON(w, http.StatusCreated, account{ID: id, Name: in.Name})
	}
}

func (a *App) insertAccount(ctx context.Context, name string) (int64, error) {
	var id int64
	err := pgx.BeginFunc(ctx, a.db, func(tx pgx.Tx) error {
		if limit := a.cfg.Settings.UserLimit; limit > 0 {
			// Counting under a lock keeps concurrent sign-ups from overshooting.
			if _, err := tx.Exec(ctx, "LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
			var count int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM accounts").Scan(&count); err != nil {
				return err
			}
			if count >= limit {
				return errUserLimit
			}
		}
		return tx.QueryRow(ctx, "INSERT INTO accounts (name) VALUES ($1) RETURNING id", name).Scan(&id)
	})
	return id, err
}

func (a *App) listAccounts(w http.ResponseWriter, r *http.Request) {
	rows, _ := a.db.Query(r.Context(), "SELECT id, name FROM accounts ORDER BY id")
	accounts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[account])
	if err != nil {
		writeDatabaseError(w, err)
		return
	}
	if accounts == nil {
		accounts = []account{}
	}
	writeJSON(w, http.StatusOK, accounts)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
