package awsenv

import (
	"context"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestEndpoint(t *testing.T) {
	tests := []struct {
		env  map[string]string
		svc  string
		want string
	}{
		{map[string]string{}, S3, ""},
		{map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, SNS, "http://127.0.0.1:1"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_S3": "http://s3"}, S3, "http://s3"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://all", "AWS_ENDPOINT_URL_S3": "http://s3"}, ECS, "http://all"},
		{map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://sm"}, SecretsManager, "http://sm"},
		{map[string]string{"AWS_ENDPOINT_URL_S3": "http://s3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, S3, ""},
	}
	for _, tt := range tests {
		if got := Endpoint(env(tt.env), tt.svc); got != tt.want {
			t.Errorf("Endpoint(%v, %s) = %q, want %q", tt.env, tt.svc, got, tt.want)
		}
		if p := BaseEndpoint(env(tt.env), tt.svc); (p == nil) != (tt.want == "") {
			t.Errorf("BaseEndpoint(%v, %s) = %v", tt.env, tt.svc, p)
		}
	}
}

func TestFromEnv(t *testing.T) {
	cfg, err := FromEnv(env(map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || cfg.Region != "eu-west-1" || creds.AccessKeyID != "AKID" || creds.SessionToken != "tok" {
		t.Errorf("FromEnv = region %q creds %+v err %v", cfg.Region, creds, err)
	}
	if cfg, err := FromEnv(env(map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})); err != nil || cfg.Region != "us-east-2" {
		t.Errorf("FromEnv with AWS_DEFAULT_REGION = %q, %v", cfg.Region, err)
	}
	_, err = FromEnv(env(map[string]string{}))
	if err == nil || !strings.Contains(err.Error(), "AWS_REGION") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("FromEnv(empty) = %v, want both problems named", err)
	}
}

func TestNewS3PathStyle(t *testing.T) {
	cfg, _ := FromEnv(env(map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}))
	local := NewS3(cfg, env(map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"})).Options()
	if !local.UsePathStyle || local.BaseEndpoint == nil || *local.BaseEndpoint != "http://127.0.0.1:9000" {
		t.Errorf("with a custom endpoint: path style %v, endpoint %v", local.UsePathStyle, local.BaseEndpoint)
	}
	aws := NewS3(cfg, env(map[string]string{})).Options()
	if aws.UsePathStyle || aws.BaseEndpoint != nil {
		t.Errorf("without one: path style %v, endpoint %v", aws.UsePathStyle, aws.BaseEndpoint)
	}
}
