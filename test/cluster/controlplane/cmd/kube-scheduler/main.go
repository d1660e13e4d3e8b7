// Command kube-scheduler is upstream's kube-scheduler, built from the k8s.io/kubernetes module.
package main

import (
	"os"
	_ "time/tzdata" // time zones for CronJob validation without system tzdata, as upstream does

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
