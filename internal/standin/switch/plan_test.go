package activate

import (
	"reflect"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

func names(units []supervisor.Unit) []string {
	var list []string
	for _, u := range units {
		list = append(list, u.Name)
	}
	return list
}

func TestPlanStartsDependenciesAndOrdersThem(t *testing.T) {
	db := unit("db", "simple", "db", func(u *supervisor.Unit) { u.Autostart = false })
	setup := unit("setup", "oneshot", "setup", func(u *supervisor.Unit) {
		u.Requires, u.After = []string{"db"}, []string{"db"}
	})
	app := unit("app", "simple", "app", func(u *supervisor.Unit) { u.After = []string{"setup"} })
	p := makePlan([]supervisor.Unit{app, setup, db}, nil)
	if got := names(p.start); !reflect.DeepEqual(got, []string{"db", "setup", "app"}) {
		t.Fatalf("start order %v", got)
	}
	if !p.isNew["db"] || len(p.stop) != 0 {
		t.Fatalf("plan %+v", p)
	}
}

func TestPlanStopsDependentsFirst(t *testing.T) {
	db := unit("db", "simple", "db")
	app := unit("app", "simple", "app", func(u *supervisor.Unit) { u.After = []string{"db"} })
	running := []supervisor.UnitStatus{
		{Name: "db", State: supervisor.StateActive, Hash: "old"},
		{Name: "app", State: supervisor.StateActive, Hash: "old"},
		{Name: "gone", State: supervisor.StateActive, Hash: "old"},
		{Name: "gone-failed", State: supervisor.StateFailed, Hash: "old"},
	}
	p := makePlan([]supervisor.Unit{db, app}, running)
	if !reflect.DeepEqual(p.stop, []string{"gone", "app", "db"}) {
		t.Fatalf("stop order %v", p.stop)
	}
	if !p.remove["gone"] || !p.remove["gone-failed"] || !p.restart["db"] || !p.restart["app"] {
		t.Fatalf("plan %+v", p)
	}
}

func TestPlanRetriesFailedAndLeavesRunningUnitsAlone(t *testing.T) {
	ok := unit("ok", "simple", "ok")
	broken := unit("broken", "simple", "broken")
	manual := unit("manual", "simple", "manual", func(u *supervisor.Unit) { u.Autostart = false })
	running := []supervisor.UnitStatus{
		{Name: "ok", State: supervisor.StateActive, Hash: ok.Hash},
		{Name: "broken", State: supervisor.StateFailed, Hash: broken.Hash},
		{Name: "manual", State: supervisor.StateInactive, Hash: "old"},
	}
	p := makePlan([]supervisor.Unit{ok, broken, manual}, running)
	if got := names(p.start); !reflect.DeepEqual(got, []string{"broken"}) || len(p.stop) != 0 {
		t.Fatalf("start %v stop %v", got, p.stop)
	}
}

func TestOrderByAfterSurvivesCycles(t *testing.T) {
	a := unit("a", "simple", "a", func(u *supervisor.Unit) { u.After = []string{"b"} })
	b := unit("b", "simple", "b", func(u *supervisor.Unit) { u.After = []string{"a"} })
	c := unit("c", "simple", "c", func(u *supervisor.Unit) { u.Before = []string{"a"} })
	if got := names(orderByAfter([]supervisor.Unit{a, b, c})); len(got) != 3 || got[0] != "c" {
		t.Fatalf("order %v", got)
	}
}
