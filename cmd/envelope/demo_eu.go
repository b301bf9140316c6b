package main

import (
	"time"

	"envelope/cases"
	"envelope/policy/clock"
)

// demoEU makes an EU order of the demo: a judge's or a prosecutor's (or
// another authority's validated by a judge), some notified to the enforcing
// state, some production orders emergencies; due when the clock rules say.
func demoEU(req *cases.Request, seed *demoSeed, i int) {
	p := &req.Process
	switch i % 3 {
	case 0:
		p.AuthorityRole = cases.RoleJudge
	case 1:
		p.AuthorityRole = cases.RoleProsecutor
	default:
		p.AuthorityRole, p.ValidatedBy = cases.RoleOther, cases.RoleJudge
	}
	p.EnforcingStateNotified = i%2 == 0
	req.Categories = []cases.Category{cases.BasicSubscriberInfo, cases.IPLogs, cases.DeviceInfo}
	req.Window = &cases.Window{From: req.ReceivedAt.Add(-90 * 24 * time.Hour), To: req.ReceivedAt}
	if p.Type == cases.EUProductionOrder && i%4 == 1 {
		req.Emergency = &cases.Exigency{Description: seed.Descriptions[i%len(seed.Descriptions)], ImminentHarm: true}
	}
	if due := clock.Find(clock.Default().Compute(clock.InputOf(req)), clock.ClockDue); due != nil {
		req.DueAt = due.At
	}
}
