package s3_test

import (
	"testing"

	"github.com/medbox-jp/medbox/internal/blob/s3"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    s3.Location
		wantErr bool
	}{
		{url: "s3://b?endpoint=http://127.0.0.1:9000&region=ap-northeast-1&path_style=true",
			want: s3.Location{Bucket: "b", Endpoint: "http://127.0.0.1:9000", Region: "ap-northeast-1", PathStyle: true}},
		{url: "s3://medbox-prod", want: s3.Location{Bucket: "medbox-prod"}},
		{url: "s3://b/?region=r", want: s3.Location{Bucket: "b", Region: "r"}},
		{url: "s3://b/prefix", wantErr: true},
		{url: "s3://?region=r", wantErr: true},
		{url: "s3://b?endpont=http://x", wantErr: true},
		{url: "s3://b?endpoint=127.0.0.1:9000", wantErr: true},
		{url: "s3://b?path_style=maybe", wantErr: true},
		{url: "s3://key:secret@b", wantErr: true},
		{url: "http://b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := s3.ParseURL(tt.url)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v, error %v", tt.url, got, err, tt.want, tt.wantErr)
		}
	}
}
