package db

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkRecentProjects is the dashboard's one SQL read, for users taking
// turns as they do on a live site (a statement whose plan depends on the
// bound team would be prepared again on every call), with a request's
// cancellable context.
func BenchmarkRecentProjects(b *testing.B) {
	d, _ := openTestDB(&testing.T{})
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var teams []Scope
	for i := range 4 {
		u, err := d.CreateUser(ctx, fmt.Sprintf("user%d@example.com", i), "", false)
		if err != nil {
			b.Fatal(err)
		}
		sc, err := d.PersonalScope(ctx, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		for j := range 3 * i {
			d.CreateProject(ctx, sc, fmt.Sprint("project ", j))
		}
		teams = append(teams, sc)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, _, err := d.RecentProjects(ctx, teams[i%len(teams)], 5, 100); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
