package supervisor

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// identity is who a unit's processes run as. Resolved at every start,
// since activation may have just created the user.
type identity struct {
	cred  *syscall.Credential // nil: as the supervisor (root)
	uid   int
	gid   int
	name  string
	home  string
	shell string
}

func rootIdentity() identity {
	return identity{uid: 0, gid: 0, name: "root", home: "/root", shell: "/bin/sh"}
}

// identityOf resolves User=, Group= and SupplementaryGroups= as systemd
// does: the user's primary group unless Group= says otherwise, plus the
// groups the user is a member of.
func identityOf(u Unit) (identity, error) {
	name := u.User
	if name == "" {
		name = "root"
	}
	if name == "root" && u.Group == "" && len(u.SupplementaryGroups) == 0 {
		return rootIdentity(), nil
	}
	acct, err := user.Lookup(name)
	if err != nil {
		return identity{}, fmt.Errorf("user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(acct.Uid)
	gid, _ := strconv.Atoi(acct.Gid)
	if u.Group != "" {
		if gid, err = lookupGroup(u.Group); err != nil {
			return identity{}, err
		}
	}
	groups, err := supplementaryGroups(acct, u.SupplementaryGroups)
	if err != nil {
		return identity{}, err
	}
	return identity{
		cred:  &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups},
		uid:   uid,
		gid:   gid,
		name:  name,
		home:  acct.HomeDir,
		shell: "/bin/sh",
	}, nil
}

func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group %s: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}

func supplementaryGroups(acct *user.User, extra []string) ([]uint32, error) {
	ids, _ := acct.GroupIds() // none is fine
	var groups []uint32
	for _, id := range ids {
		n, err := strconv.Atoi(id)
		if err == nil {
			groups = append(groups, uint32(n))
		}
	}
	for _, name := range extra {
		gid, err := lookupGroup(name)
		if err != nil {
			return nil, err
		}
		groups = append(groups, uint32(gid))
	}
	return groups, nil
}
