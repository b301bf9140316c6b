package letters

import (
	"strings"
	"time"

	"envelope/cases"
)

// SampleOrg is the profile templates are checked and previewed with.
func SampleOrg() *cases.Org {
	return &cases.Org{LegalName: "Example Messaging, Inc.", Address: "1 Main Street\nPalo Alto, CA 94301\nUnited States",
		ContactEmail: "lers@example.com", ContactPhone: "+1 650 555 0100", CustodianName: "Jordan Lee",
		CustodianTitle: "Custodian of Records", TypedSignature: "/s/ Jordan Lee"}
}

// sampleCase is a search warrant, partly executed, with a name in three
// scripts.
func sampleCase(country string, p cases.ProcessType) *cases.Case {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	until := at.AddDate(0, 0, 90)
	w := &cases.Window{From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return &cases.Case{
		Number: "C-2026-000123", Status: cases.StatusApproved,
		Request: cases.Request{
			ReceivedAt: at,
			Agency:     cases.Agency{Name: "Federal Bureau of Investigation", Country: country},
			Requester:  cases.Requester{Name: "Dana Reyes", Email: "dreyes@fbi.gov"},
			Process: cases.Process{Type: p, IssuingAuthority: "U.S. District Court for the Northern District of California",
				Reference: "3:26-mj-70412"},
			Targets: []cases.Target{{Kind: cases.TargetPhone, Value: "+14155550123"}, {Kind: cases.TargetUsername, Value: "محمد_王小明_देव"}},
			Window:  w,
		},
		Decision: &cases.Decision{Outcome: cases.OutcomePartial, UserNotice: cases.NoticeDelayed, PreserveUntil: &until,
			Allowed: []cases.Allowed{{Category: cases.BasicSubscriberInfo}, {Category: cases.IPLogs, Window: w}},
			Denied: []cases.Denied{{Category: cases.MessageContent, Reason: "envelope never discloses content"},
				{Category: cases.Contacts, Reason: "a subpoena compels basic subscriber records only (18 U.S.C. 2703(c)(2))"}}},
	}
}

// Samples are the data every template must render: a US production and
// an EU order refused in full.
func Samples() []*Data {
	us := FromCase(sampleCase("US", cases.SearchWarrant), SampleOrg(), time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	us.Package, us.SigningKey, us.CSVNotice = 1, strings.Repeat("ab", 32), "CSV notice."
	us.Questions = []string{"The order names no period; please state the period the records should cover."}
	us.Files = []File{{Path: "records/basic_subscriber_info.csv", Size: 120, SHA256: strings.Repeat("0f", 32)}}
	for i := range us.Produced {
		us.Produced[i].Records, us.Produced[i].RecordsText = 2, "2 records"
	}
	eu := sampleCase("DE", cases.ForeignCourtOrder)
	eu.Agency.Name, eu.Decision.Allowed = "Landeskriminalamt Berlin", nil
	return []*Data{us, FromCase(eu, SampleOrg(), time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))}
}
