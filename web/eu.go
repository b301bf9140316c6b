package web

// The words the portal shows for the EU order types and roles (issue 15).
func init() {
	for k, v := range map[string]string{
		"eu_production_order": "EU production order (EPOC)", "eu_preservation_order": "EU preservation order (EPOC-PR)",
		"judge": "Judge or court", "prosecutor": "Public prosecutor", "other": "Other competent authority",
		"settings.time_zone": "Time zone changed",
	} {
		labels[k] = v
	}
}
