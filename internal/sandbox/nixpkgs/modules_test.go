package nixpkgs

import (
	"reflect"
	"strings"
	"testing"
)

// evalTest evaluates modules against testdata/modules/options.nix and
// selects from config.test: `eval [ modules ] <selection>`.
const evalTest = `let
  lib = import <nixpkgs/lib>;
  eval = modules: (lib.evalModules {
    modules = [ (testdata + "/modules/options.nix") ] ++ modules;
  }).config.test;
  file = name: testdata + "/modules/${name}.nix";
in `

func TestPrioritiesAreResolvedAsInNixOS(t *testing.T) {
	n := newNixEnv(t)
	for _, c := range []struct{ expr, want string }{
		{`(eval [ { test.name = lib.mkForce "forced"; } { test.name = "plain"; } { test.name = lib.mkDefault "default"; } ]).name`, "forced"},
		{`(eval [ { test.name = "plain"; } { test.name = lib.mkDefault "default"; } ]).name`, "plain"},
		{`(eval [ { test.name = lib.mkDefault "default"; } ]).name`, "default"},
		{`(eval [ ]).name`, "from-option-default"},
		{`(eval [ { test.name = lib.mkOverride 10 "vm"; } { test.name = lib.mkForce "forced"; } ]).name`, "vm"},
		{`(eval [ { test.name = "same"; } { test.name = "same"; } ]).name`, "same"},
	} {
		var got string
		n.eval(t, evalTest+c.expr, &got)
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestDefinitionsOfEqualPriorityMergeByType(t *testing.T) {
	n := newNixEnv(t)
	var got struct {
		List     []string
		Forced   []string
		Attrs    map[string]int
		Text     string
		Anything map[string]any
		Alice    struct {
			Home   string
			Groups []string
		}
	}
	n.eval(t, evalTest+`let
		c = eval [
			{ test.list = [ "a" ]; test.attrs.one = 1; test.text = "first"; test.anything.x.y = 1; test.users.alice.groups = [ "wheel" ]; }
			{ test.list = lib.mkAfter [ "after" ]; test.attrs.two = 2; test.text = lib.mkBefore "before"; test.anything.x.z = 2; }
			{ test.list = lib.mkBefore [ "before" ]; test.users.alice.groups = [ "users" ]; }
			{ test.list = [ "b" ]; test.text = "second"; }
		];
		forced = eval [ { test.list = [ "a" ]; } { test.list = lib.mkForce [ "only" ]; } ];
	in {
		inherit (c) list attrs text anything;
		forced = forced.list;
		alice = { inherit (c.users.alice) home groups; };
	}`, &got)
	if !reflect.DeepEqual(got.List, []string{"before", "a", "b", "after"}) {
		t.Errorf("list merge: %v", got.List)
	}
	if !reflect.DeepEqual(got.Forced, []string{"only"}) {
		t.Errorf("mkForce on a list: %v", got.Forced)
	}
	if !reflect.DeepEqual(got.Attrs, map[string]int{"one": 1, "two": 2}) {
		t.Errorf("attrsOf merge: %v", got.Attrs)
	}
	if got.Text != "before\nfirst\nsecond" {
		t.Errorf("lines merge: %q", got.Text)
	}
	if x, _ := got.Anything["x"].(map[string]any); len(x) != 2 {
		t.Errorf("anything merge: %v", got.Anything)
	}
	if got.Alice.Home != "/home/alice" || !reflect.DeepEqual(got.Alice.Groups, []string{"wheel", "users"}) {
		t.Errorf("submodule merge: %+v", got.Alice)
	}
}

func TestMkIfFalseRemovesDefinitions(t *testing.T) {
	n := newNixEnv(t)
	var got struct {
		Off struct {
			List  []string
			Users map[string]any
			Name  string
		}
		On struct {
			List    []string
			Users   map[string]any
			Derived string
		}
		Merged []string
	}
	n.eval(t, evalTest+`{
		off = let c = eval [ (file "conditional") { test.users = { gone = lib.mkIf false { }; }; test.name = lib.mkIf false "unused"; } ];
			in { inherit (c) list users name; };
		on = let c = eval [ (file "conditional") { test.enable = true; test.name = "x"; } ];
			in { inherit (c) list users derived; };
		merged = (eval [ { test.list = lib.mkMerge [ [ "one" ] (lib.mkIf true [ "two" ]) (lib.mkIf false [ "three" ]) ]; } ]).list;
	}`, &got)
	if len(got.Off.List) != 0 || len(got.Off.Users) != 0 || got.Off.Name != "from-option-default" {
		t.Errorf("mkIf false left definitions: %+v", got.Off)
	}
	if !reflect.DeepEqual(got.On.List, []string{"enabled"}) || got.On.Users["conditional"] == nil || got.On.Derived != "derived from x" {
		t.Errorf("mkIf true (on the module's own config): %+v", got.On)
	}
	if !reflect.DeepEqual(got.Merged, []string{"one", "two"}) {
		t.Errorf("mkMerge with mkIf: %v", got.Merged)
	}
}

func TestOtherTypes(t *testing.T) {
	n := newNixEnv(t)
	var got struct {
		Maybe  *string
		Set    string
		Either string
		Mode   string
	}
	n.eval(t, evalTest+`{
		maybe = (eval [ ]).maybe;
		set = (eval [ { test.maybe = "here"; } ]).maybe;
		either = (eval [ { test.either = "text"; } ]).either;
		mode = (eval [ { test.mode = "fast"; } ]).mode;
	}`, &got)
	if got.Maybe != nil || got.Set != "here" || got.Either != "text" || got.Mode != "fast" {
		t.Errorf("%+v", got)
	}
}

// A submodule with a freeformType takes settings no option declares, as
// NixOS's settings options do; declared ones keep their types.
func TestFreeformSettings(t *testing.T) {
	n := newNixEnv(t)
	var got map[string]any
	n.eval(t, evalTest+`(eval [
		{ test.settings = { extra = "x"; nested.a = 1; }; }
		{ test.settings.nested.b = lib.mkIf true 2; test.settings.gone = lib.mkIf false 3; }
	]).settings`, &got)
	want := map[string]any{"port": 80.0, "extra": "x", "nested": map[string]any{"a": 1.0, "b": 2.0}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if msg := n.evalError(t, evalTest+`(eval [ { test.settings.port = "http"; } ]).settings.port`); !strings.Contains(msg, "test.settings.port") {
		t.Errorf("a declared option next to free-form settings lost its type:\n%s", msg)
	}
}

func TestImportsAreDeduplicatedByPath(t *testing.T) {
	n := newNixEnv(t)
	var list []string
	n.eval(t, evalTest+`(eval [ (file "imports-list-x-twice") (file "list-x") ]).list`, &list)
	if !reflect.DeepEqual(list, []string{"x"}) {
		t.Errorf("a file imported three times gave %v", list)
	}
}

func TestModuleErrorsNameTheOptionAndTheFiles(t *testing.T) {
	n := newNixEnv(t)
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`(eval [ (file "port-string") ]).port`, []string{
			"The option `test.port' has a value of type string, expected a 16-bit port",
			"testdata/modules/port-string.nix",
		}},
		{`eval [ (file "undeclared") ]`, []string{
			"The option `test.nonexistent.enable' does not exist",
			"testdata/modules/undeclared.nix",
		}},
		{`(eval [ (file "undeclared") { test.name = "fine"; } ]).name`, []string{"does not exist"}},
		{`(eval [ (file "name-a") (file "name-b") ]).name`, []string{
			"The option `test.name' has conflicting definition values",
			"testdata/modules/name-a.nix", "testdata/modules/name-b.nix",
		}},
		{`(eval [ ]).derived`, []string{"The option `test.derived' is used but not defined."}},
		{`(eval [ { test.mode = "slow"; } ]).mode`, []string{"The option `test.mode' has a value of type string, expected one of \"fast\", \"safe\""}},
		{`(eval [ { test.list = [ 1 ]; } ]).list`, []string{"test.list", "expected a string"}},
		{`(eval [ { test.users.bob.home = 1; } ]).users.bob.home`, []string{"The option `test.users.bob.home' has a value of type integer"}},
		{`(eval [ { test.name = lib.mkIf "yes" "x"; } ]).name`, []string{"mkIf called with a non-Boolean condition"}},
		{`(eval [ { test.maybe = "x"; } { test.maybe = null; } ]).maybe`, []string{"defined both null and not null"}},
	} {
		msg := n.evalError(t, evalTest+c.expr)
		for _, want := range c.want {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: error lacks %q:\n%s", c.expr, want, msg)
			}
		}
	}
}

func TestEvalConfigAndNixosEntryPoints(t *testing.T) {
	n := newNixEnv(t)
	var got struct {
		HostName  string
		System    string
		Declared  bool
		Special   string
		Overlay   string
		Toplevel  string
		SameAsDrv bool
	}
	n.eval(t, `let
		eval = import <nixpkgs/nixos/lib/eval-config.nix> {
			system = "x86_64-linux";
			specialArgs.greeting = "hello";
			modules = [
				({ greeting, pkgs, ... }: {
					networking.hostName = "h1";
					environment.etc.greeting.text = greeting;
					nixpkgs.overlays = [ (self: super: { extra = "from an overlay"; }) ];
				})
			];
		};
		nixos = import <nixpkgs/nixos> { configuration = { networking.hostName = "h1"; }; };
	in {
		hostName = eval.config.networking.hostName;
		system = eval.pkgs.stdenv.hostPlatform.system;
		declared = eval.options.networking.hostName.isDefined;
		special = eval.config.environment.etc.greeting.text;
		overlay = eval.pkgs.extra;
		toplevel = nixos.system.name;
		sameAsDrv = nixos.system.outPath == nixos.config.system.build.toplevel.outPath;
	}`, &got)
	if got.HostName != "h1" || got.System != "x86_64-linux" || !got.Declared || got.Special != "hello" ||
		got.Overlay != "from an overlay" || got.Toplevel != "nixos-system-h1-24.05-standin" || !got.SameAsDrv {
		t.Errorf("%+v", got)
	}
}

func TestSystemLevelChecks(t *testing.T) {
	n := newNixEnv(t)
	toplevel := func(module string) string {
		return `(import <nixpkgs/nixos/lib/eval-config.nix> { modules = [ (` + module + `) ]; }).config.system.build.toplevel.drvPath`
	}
	for _, c := range []struct{ module, want string }{
		{`{ users.users.app = { }; }`, "Exactly one of users.users.app.isSystemUser and users.users.app.isNormalUser must be set."},
		{`{ users.users.app.isSystemUser = true; }`, "users.users.app.group is unset"},
		{`{ lib, ... }: { system.build.toplevel = lib.mkForce "/nix/store/x"; }`, "system.build.toplevel"},
		{`{ services.postgresql = { enable = true; ensureUsers = [ { name = "u"; ensureDBOwnership = true; } ]; }; }`, "requires a database of the same name"},
		{`{ systemd.services.x.serviceConfig.Type = "simple"; }`, "needs exactly one ExecStart"},
	} {
		msg := n.evalError(t, toplevel(c.module))
		if !strings.Contains(msg, c.want) {
			t.Errorf("%s: error lacks %q:\n%s", c.module, c.want, msg)
		}
	}
}

func TestLibHelpers(t *testing.T) {
	n := newNixEnv(t)
	var got map[string]any
	n.eval(t, `let lib = import <nixpkgs/lib>; pkgs = import <nixpkgs> { }; in {
		split = lib.splitString "." "a.b.c";
		renamed = lib.mapAttrs' (n: v: lib.nameValuePair "x-${n}" v) { a = 1; };
		gen = lib.genAttrs [ "a" "b" ] (n: n + n);
		filtered = lib.filterAttrs (n: v: v > 1) { a = 1; b = 2; };
		joined = lib.concatMapStringsSep "," toString [ 1 2 ];
		optional = lib.optionalAttrs false { a = 1; } // lib.optionalAttrs true { b = 2; };
		listed = lib.mapAttrsToList (n: v: n + v) { a = "1"; };
		literal = lib.literalExpression "pkgs.hello";
		enableDefault = (lib.mkEnableOption "x").default;
		package = (lib.mkPackageOption pkgs "postgresql" { }).default.name;
		quoted = lib.escapeShellArgs [ "a b" "it's" ];
		json = (pkgs.formats.json { }).type.description;
	}`, &got)
	want := map[string]any{
		"split":         []any{"a", "b", "c"},
		"renamed":       map[string]any{"x-a": 1.0},
		"gen":           map[string]any{"a": "aa", "b": "bb"},
		"filtered":      map[string]any{"b": 2.0},
		"joined":        "1,2",
		"optional":      map[string]any{"b": 2.0},
		"listed":        []any{"a1"},
		"literal":       "pkgs.hello",
		"enableDefault": false,
		"package":       "postgresql-15",
		"quoted":        `'a b' 'it'\''s'`,
		"json":          "JSON value",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}
