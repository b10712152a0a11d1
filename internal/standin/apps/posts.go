package apps

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

type post struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *App) createPost(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Author string `json:"author"`
		Body   string `json:"body"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if err := joinOneLine(checkText("author", in.Author), checkText("body", in.Body)); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var id int64
	err := a.db.QueryRow(r.Context(), "INSERT INTO posts (author, body) VALUES ($1, $2) RETURNING id",
		in.Author, in.Body).Scan(&id)
	if err != nil {
		writeDatabaseError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

func (a *App) listPosts(w http.ResponseWriter, r *http.Request) {
	rows, _ := a.db.Query(r.Context(), "SELECT id, author, body, created_at FROM posts ORDER BY id")
	posts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[post])
	if err != nil {
		writeDatabaseError(w, err)
		return
	}
	if posts == nil {
		posts = []post{}
	}
	writeJSON(w, http.StatusOK, posts)
}

func (a *App) getPost(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "post id must be an integer")
		return
	}
	rows, _ := a.db.Query(r.Context(), "SELECT id, author, body, created_at FROM posts WHERE id = $1", id)
	found, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[post])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no post %d", id))
	case err != nil:
		writeDatabaseError(w, err)
	default:
		writeJSON(w, http.StatusOK, found)
	}
}

// checkText refuses what PostgreSQL's text type cannot hold (NUL) and
// blank values. Invalid UTF-8 cannot arrive: JSON decoding replaces it.
func checkText(field, value string) error {
	switch {
	case strings.TrimSpace(value) == "":
		return fmt.Errorf("%s must not be empty", field)
	case strings.ContainsRune(value, 0):
		return fmt.Errorf("%s must not contain NUL", field)
	}
	return nil
}

// writeDatabaseError answers 503: for the stand-in a failing query almost
// always means the database is unavailable, which is what clients retry.
func writeDatabaseError(w http.ResponseWriter, err error) {
	writeError(w, http.StatusServiceUnavailable, "database: "+err.Error())
}
