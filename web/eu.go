package web

// The words the portal shows for the clocks and the events of EU orders
// (issue 15); the order types and authority roles are in cases/labels.go.
func init() {
	for k, v := range map[string]string{
		"settings.time_zone": "Time zone changed",
		"due":                "Response due", "hold": "Production held until", "objection": "Enforcing state may object until",
		"preserve": "Preserved until", "collection": "Collection authorised until",
		"alert.raise": "Deadline at risk", "alert.escalate": "Escalated to supervisors",
		"case.deadline_reset": "New deadline from the authority", "case.extend": "Extended",
		"case.eu_enforcing_confirmed": "Enforcing state confirmed", "case.eu_refusal_ground": "Ground for refusal raised",
		"case.eu_production_linked": "Production order linked", "case.eu_non_execution": "Non-execution (Form 3)",
	} {
		auditLabels[k] = v
	}
}
