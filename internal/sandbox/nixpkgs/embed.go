// Package nixpkgs is the stand-in nixpkgs of sandbox hosts: Nix files that
// offer the entry points the provider calls on a real nixpkgs
// (<nixpkgs/nixos/lib/eval-config.nix>, <nixpkgs/nixos>, <nixpkgs>), a
// compact module system in lib/, and the NixOS modules for the option
// names the project's modules set, in nixos/modules/. A system built with it
// has units.json, run by the stand-in supervisor through its
// switch-to-configuration (packages standin/supervisor and standin/switch).
//
// This directory is itself a nixpkgs tree: NIX_PATH=nixpkgs=<this dir> works
// in a checkout; Install writes the embedded copy elsewhere.
package nixpkgs

//go:generate go test -run ^TestCatalogueFileIsCurrent$ -update .

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Files is the stand-in nixpkgs tree.
//
//go:embed default.nix lib nixos pkgs
var Files embed.FS

// Install makes dir hold exactly the stand-in nixpkgs (files of an earlier
// install that are no longer embedded are gone), so that NIX_PATH
// nixpkgs=dir points at it. The new tree is written beside dir and swapped
// in, so a reader sees the old tree or the new one.
func Install(dir string) error {
	dir = filepath.Clean(dir)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	staging := dir + ".new-" + randomSuffix()
	if err := writeTree(staging); err != nil {
		os.RemoveAll(staging)
		return fmt.Errorf("installing the stand-in nixpkgs: %w", err)
	}
	old := dir + ".old-" + randomSuffix()
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		os.RemoveAll(staging)
		return err
	}
	if err := os.Rename(staging, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func writeTree(root string) error {
	return fs.WalkDir(Files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(root, filepath.FromSlash(path))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := Files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
