package plan_test

import (
	"testing"

	"github.com/shipshape-dev/shipshape/plan"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		text    string
		want    float64
		wantErr bool
	}{
		{text: "500/s", want: 500},
		{text: " 500 / 1s ", want: 500},
		{text: "30/m", want: 0.5},
		{text: "10/100ms", want: 100},
		{text: "1_000/s", want: 1000},
		{text: "2.5/s", want: 2.5},
		{text: "7200/h", want: 2},
		{text: "250", want: 250},
		{text: "0", want: 0},
		{text: "-1/s", wantErr: true},
		{text: "fast", wantErr: true},
		{text: "10/", wantErr: true},
		{text: "10/fortnight", wantErr: true},
		{text: "10/0s", wantErr: true},
		{text: "NaN/s", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := plan.ParseRate(tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRate(%q) = %v, %v; want error %v", tt.text, got, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("ParseRate(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}
