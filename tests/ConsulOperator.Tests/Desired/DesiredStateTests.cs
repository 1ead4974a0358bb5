using System.Text.Json.Nodes;
using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Desired;
using ConsulOperator.Tests.Support;
using k8s;
using k8s.Models;

namespace ConsulOperator.Tests.Desired;

public class DesiredStateTests
{
    [Fact]
    public void The_sample_cluster_consists_of_exactly_these_objects()
    {
        var objects = Clusters.Build(Clusters.Sample());

        Assert.Equal(
        [
            "ConfigMap/consul-ca-cert", "ConfigMap/consul-client-config", "ConfigMap/consul-server-config",
            "PodDisruptionBudget/consul-server",
            "Secret/consul-ca", "Secret/consul-cli-tls", "Secret/consul-client-0-tls", "Secret/consul-client-1-tls", "Secret/consul-gossip", "Secret/consul-metrics-tls",
            "Secret/consul-server-0-tls", "Secret/consul-server-1-tls", "Secret/consul-server-2-tls",
            "Service/consul-client", "Service/consul-dns", "Service/consul-server", "Service/consul-ui",
            "StatefulSet/consul-client", "StatefulSet/consul-server",
        ], objects.Select(o => $"{o.Kind}/{o.Metadata.Name}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Everything_is_labelled_namespaced_and_owned_by_the_cluster()
    {
        var cluster = Clusters.Default();

        foreach (var item in Clusters.Build(cluster))
        {
            Assert.Equal("consul", item.Metadata.NamespaceProperty);
            Assert.Equal("consul", item.Metadata.Labels[Labels.Name]);
            Assert.Equal("consul", item.Metadata.Labels[Labels.Instance]);
            Assert.Equal(Labels.OperatorName, item.Metadata.Labels[Labels.ManagedBy]);
            var owner = Assert.Single(item.Metadata.OwnerReferences);
            Assert.Equal((ApiGroup.ApiVersion, "ConsulCluster", "consul", cluster.Metadata.Uid, true), (owner.ApiVersion, owner.Kind, owner.Name, owner.Uid, owner.Controller == true));
        }
    }

    [Fact]
    public void Without_a_uid_nothing_gets_an_owner_reference()
    {
        var cluster = Clusters.Default();
        cluster.Metadata.Uid = null;

        Assert.All(Clusters.Build(cluster), item => Assert.Null(item.Metadata.OwnerReferences));
    }

    [Fact]
    public void The_spec_hash_is_stable_for_the_same_input_and_changes_with_it()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);
        var first = Hashes(Clusters.Build(cluster, material));
        var again = Hashes(Clusters.Build(cluster, material));
        cluster.Spec.Acl.DownPolicy = AclDownPolicy.Deny;
        var changed = Hashes(Clusters.Build(cluster, material));

        Assert.Equal(first, again);
        Assert.NotEqual(first["ConfigMap/consul-server-config"], changed["ConfigMap/consul-server-config"]);
        Assert.NotEqual(first["StatefulSet/consul-server"], changed["StatefulSet/consul-server"]);
        Assert.Equal(first["Service/consul-dns"], changed["Service/consul-dns"]);
        Assert.Equal(first["Secret/consul-ca"], changed["Secret/consul-ca"]);
    }

    [Fact]
    public void Bootstrap_expect_comes_from_status_once_pinned()
    {
        var cluster = Clusters.Default(change: s => s.Servers.Replicas = 5);

        Assert.Equal(5, DesiredState.BootstrapExpect(cluster));
        cluster.Status = new ConsulClusterStatus { BootstrapExpect = 3 };
        Assert.Equal(3, DesiredState.BootstrapExpect(cluster));
    }

    [Fact]
    public void Without_clients_there_is_no_client_statefulset_service_config_or_certificate()
    {
        var objects = Clusters.Build(Clusters.Default(change: s => s.Clients.Replicas = 0));

        Assert.DoesNotContain(objects, o => o.Metadata.Name.StartsWith("consul-client", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_gossip_encryption_there_is_no_gossip_secret_and_no_key_in_the_pods()
    {
        var objects = Clusters.Build(Clusters.Default(change: s => s.Gossip.Encryption = false));

        Assert.DoesNotContain(objects, o => o.Metadata.Name == "consul-gossip");
        var container = objects.Named<V1StatefulSet>("consul-server").Spec.Template.Spec.Containers[0];
        Assert.DoesNotContain(container.Env, e => e.Name == "GOSSIP_KEY");
        Assert.DoesNotContain("encrypt", container.Command[2], StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Hashes(IEnumerable<IKubernetesObject<V1ObjectMeta>> objects) =>
        objects.ToDictionary(o => $"{o.Kind}/{o.Metadata.Name}", o => o.Metadata.Annotations[Labels.SpecHashAnnotation]);
}

public class StatefulSetTests
{
    [Fact]
    public void Scaling_servers_with_a_pinned_bootstrap_expect_leaves_the_server_pods_alone()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);
        var before = Template(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }), "consul-server");
        cluster.Spec.Servers.Replicas = 5;
        var after = DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 });

        Assert.Equal(before, Template(after, "consul-server"));
        Assert.Equal(5, after.Named<V1StatefulSet>("consul-server").Spec.Replicas);
    }

    [Fact]
    public void Scaling_clients_within_a_block_of_slots_leaves_the_client_pods_alone()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);
        var before = Template(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }), "consul-client");
        cluster.Spec.Clients.Replicas = KeyMaterialSecrets.ClientSlotBlock;

        Assert.Equal(before, Template(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }), "consul-client"));
    }

    [Fact]
    public void A_configuration_change_changes_the_config_hash_so_the_pods_roll()
    {
        var cluster = Clusters.Default();
        var material = Clusters.KeyMaterialFor(cluster);
        var before = ConfigHash(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 }));
        cluster.Spec.ExtraConfig = new JsonObject { ["log_level"] = "DEBUG" };

        Assert.NotEqual(before, ConfigHash(DesiredState.Build(cluster, material, ServerPlan.AtRest(cluster) with { BootstrapExpect = 3 })));
    }

    [Fact]
    public void Pods_run_as_non_root_with_a_read_only_root_and_no_capabilities()
    {
        foreach (var set in Clusters.Build(Clusters.Default()).OfType<V1StatefulSet>())
        {
            var pod = set.Spec.Template.Spec;
            var container = Assert.Single(pod.Containers);
            Assert.True(pod.SecurityContext.RunAsNonRoot);
            Assert.NotEqual(0, pod.SecurityContext.RunAsUser);
            Assert.Equal("RuntimeDefault", pod.SecurityContext.SeccompProfile.Type);
            Assert.False(pod.AutomountServiceAccountToken);
            Assert.True(container.SecurityContext.ReadOnlyRootFilesystem);
            Assert.False(container.SecurityContext.AllowPrivilegeEscalation);
            Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        }
    }

    [Fact]
    public void The_ca_private_key_is_never_mounted_into_an_agent_pod()
    {
        foreach (var set in Clusters.Build(Clusters.Default()).OfType<V1StatefulSet>())
        {
            var pod = set.Spec.Template.Spec;
            var secretNames = pod.Volumes.SelectMany(v => (v.Projected?.Sources ?? []).Select(s => s.Secret?.Name).Append(v.Secret?.SecretName)).OfType<string>();
            Assert.DoesNotContain("consul-ca", secretNames);
            Assert.DoesNotContain(pod.Containers.SelectMany(c => c.Env), e => e.ValueFrom?.SecretKeyRef?.Name == "consul-ca");
            var caSource = Assert.Single(pod.Volumes.Single(v => v.Name == "tls").Projected.Sources, s => s.ConfigMap is not null);
            Assert.Equal("consul-ca-cert", caSource.ConfigMap.Name);
        }
    }

    [Fact]
    public void Each_pod_finds_its_own_certificate_by_name_in_the_projected_volume()
    {
        var set = Clusters.Build(Clusters.Default()).Named<V1StatefulSet>("consul-server");
        var sources = set.Spec.Template.Spec.Volumes.Single(v => v.Name == "tls").Projected.Sources.Where(s => s.Secret is not null).ToList();

        Assert.Equal(KeyMaterialSecrets.ServerSlots, sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            Assert.Equal($"consul-server-{i}-tls", sources[i].Secret.Name);
            Assert.True(sources[i].Secret.Optional);
            Assert.Equal([$"consul-server-{i}.crt", $"consul-server-{i}.key"], sources[i].Secret.Items.Select(item => item.Path));
        }

        var script = set.Spec.Template.Spec.Containers[0].Command[2];
        Assert.Contains("/consul/tls/${POD_NAME}.crt", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_start_script_writes_a_pod_file_with_valid_keys_and_starts_consul_directly()
    {
        var script = Clusters.Build(Clusters.Default()).Named<V1StatefulSet>("consul-server").Spec.Template.Spec.Containers[0].Command[2];
        var podJson = script.Split('\n')[1];

        Assert.Empty(ReferenceConfigKeys.InvalidPaths(JsonNode.Parse(podJson)!.AsObject(), legacy: false));
        Assert.Contains("exec consul agent -config-dir=/consul/config -config-file=/consul/run/pod.json", script, StringComparison.Ordinal);
    }

    [Fact]
    public void No_agent_pod_mounts_an_agent_token_since_every_pod_of_a_statefulset_would_mount_them_all()
    {
        var objects = Clusters.Build(Clusters.Default());
        var names = KeyMaterialSecrets.NamesOf(Clusters.Default());
        foreach (var set in objects.OfType<V1StatefulSet>())
        {
            var secrets = set.Spec.Template.Spec.Volumes
                .SelectMany(v => new[] { v.Secret?.SecretName }.Concat(v.Projected?.Sources?.Select(s => s.Secret?.Name) ?? []).OfType<string>())
                .ToList();
            Assert.DoesNotContain(secrets, s => s.EndsWith(Names.AgentTokenSuffix, StringComparison.Ordinal) || s == names.LegacyAclAgentSecret || s.Contains("acl", StringComparison.Ordinal));
            Assert.DoesNotContain("acl", set.Spec.Template.Spec.Containers[0].Command[2], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Servers_start_in_parallel_keep_their_data_and_are_ready_only_with_a_leader()
    {
        var set = Clusters.Build(Clusters.Default()).Named<V1StatefulSet>("consul-server");

        Assert.Equal("Parallel", set.Spec.PodManagementPolicy);
        Assert.Equal(("Retain", "Retain"), (set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted, set.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled));
        var claim = Assert.Single(set.Spec.VolumeClaimTemplates);
        Assert.Equal("10Gi", claim.Spec.Resources.Requests["storage"].ToString());
        Assert.Contains("/v1/status/leader", set.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec.Command[2], StringComparison.Ordinal);
        Assert.Equal("consul-server", set.Spec.ServiceName);
        Assert.NotNull(set.Spec.Template.Spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution);
    }

    private static string Template(IEnumerable<IKubernetesObject<V1ObjectMeta>> objects, string name) =>
        KubernetesJson.Serialize(objects.Named<V1StatefulSet>(name).Spec.Template);

    private static string ConfigHash(IEnumerable<IKubernetesObject<V1ObjectMeta>> objects) =>
        objects.Named<V1StatefulSet>("consul-server").Spec.Template.Metadata.Annotations[Labels.ConfigHashAnnotation];
}

public class ServicesAndBudgetTests
{
    [Fact]
    public void The_headless_server_service_publishes_unready_pods_on_every_consul_port()
    {
        var service = Clusters.Build(Clusters.Default()).Named<V1Service>("consul-server");

        Assert.Equal("None", service.Spec.ClusterIP);
        Assert.True(service.Spec.PublishNotReadyAddresses);
        Assert.Equal(
            ["8300/TCP", "8301/TCP", "8301/UDP", "8302/TCP", "8302/UDP", "8501/TCP", "8503/TCP", "8600/TCP", "8600/UDP"],
            service.Spec.Ports.Select(p => $"{p.Port}/{p.Protocol}"));
    }

    [Fact]
    public void The_dns_service_forwards_53_to_the_agents_8600_over_tcp_and_udp_with_an_optional_fixed_ip()
    {
        var service = Clusters.Build(Clusters.Default(change: s => s.Dns.Service.ClusterIP = "10.96.0.53")).Named<V1Service>("consul-dns");

        Assert.Equal("10.96.0.53", service.Spec.ClusterIP);
        Assert.Equal(["53->8600/TCP", "53->8600/UDP"], service.Spec.Ports.Select(p => $"{p.Port}->{p.TargetPort.Value}/{p.Protocol}"));
        Assert.False(service.Spec.Selector.ContainsKey(Labels.Component));
    }

    [Fact]
    public void The_dns_service_selects_the_agent_pods_and_no_other_pod_of_the_cluster()
    {
        var objects = Clusters.Build(Clusters.Default(change: s => s.Snapshots.Enabled = true));
        var selector = objects.Named<V1Service>("consul-dns").Spec.Selector;
        bool Selects(IDictionary<string, string> labels) => selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

        Assert.All(objects.OfType<V1StatefulSet>(), set => Assert.True(Selects(set.Spec.Template.Metadata.Labels), $"{set.Metadata.Name}'s pods get no DNS traffic"));
        var snapshotPods = objects.OfType<V1CronJob>().Single().Spec.JobTemplate.Spec.Template.Metadata.Labels;
        Assert.False(Selects(snapshotPods), "the snapshot Job's pods would receive DNS lookups on a port nothing listens on");
    }

    [Theory]
    [InlineData(4, 3, 1)]
    [InlineData(4, 4, 1)]
    [InlineData(5, 4, 1)]
    [InlineData(5, 5, 2)]
    public void Mid_scaling_the_disruption_budget_counts_only_the_servers_that_vote(int current, int voters, int maxUnavailable)
    {
        // Going from 3 to 5 servers: the budget of the target (2) would let a drain take quorum while 3 or 4 vote.
        var cluster = Clusters.Default(change: s => s.Servers.Replicas = 5);
        var plan = new ServerPlan(current, 5, 3, voters);
        var budget = DesiredState.Build(cluster, Clusters.KeyMaterialFor(cluster), plan).Named<V1PodDisruptionBudget>("consul-server");

        Assert.Equal(maxUnavailable.ToString(System.Globalization.CultureInfo.InvariantCulture), KubernetesJson.Serialize(budget.Spec.MaxUnavailable));
        Assert.True(voters - maxUnavailable >= (voters / 2) + 1, "a drain could take quorum");
        Assert.Equal(current, DesiredState.Build(cluster, Clusters.KeyMaterialFor(cluster), plan).Named<V1StatefulSet>("consul-server").Spec.Replicas);
    }

    [Theory]
    [InlineData(1, 0)]
    [InlineData(3, 1)]
    [InlineData(5, 2)]
    [InlineData(7, 3)]
    public void The_disruption_budget_never_allows_losing_quorum(int servers, int maxUnavailable)
    {
        var budget = Clusters.Build(Clusters.Default(change: s => s.Servers.Replicas = servers)).Named<V1PodDisruptionBudget>("consul-server");

        // An integer, not the string "1": the API server accepts only percentages as strings here.
        Assert.Equal(maxUnavailable.ToString(System.Globalization.CultureInfo.InvariantCulture), KubernetesJson.Serialize(budget.Spec.MaxUnavailable));
        Assert.True(servers - maxUnavailable >= (servers / 2) + 1);
        Assert.Equal("server", budget.Spec.Selector.MatchLabels[Labels.Component]);
    }

    [Fact]
    public void The_ui_ingress_speaks_https_to_the_servers_with_a_client_certificate_issued_for_its_controller()
    {
        var cluster = Clusters.Default(change: s => s.Ui.Ingress = new UiIngressSpec
        {
            ClassName = "nginx",
            Host = "consul.example.com",
            TlsSecretName = "consul-example-com",
            Annotations = new() { ["nginx.ingress.kubernetes.io/proxy-read-timeout"] = "120", ["nginx.ingress.kubernetes.io/proxy-ssl-server-name"] = "off" },
        });
        var objects = Clusters.Build(cluster);
        var ingress = objects.Named<V1Ingress>("consul-ui");

        Assert.Equal("nginx", ingress.Spec.IngressClassName);
        var rule = Assert.Single(ingress.Spec.Rules);
        Assert.Equal("consul.example.com", rule.Host);
        var backend = Assert.Single(rule.Http.Paths).Backend.Service;
        Assert.Equal(("consul-ui", "https"), (backend.Name, backend.Port.Name));
        Assert.Equal(["consul.example.com"], Assert.Single(ingress.Spec.Tls).Hosts);
        var annotations = ingress.Metadata.Annotations;
        Assert.Equal("HTTPS", annotations["nginx.ingress.kubernetes.io/backend-protocol"]);
        Assert.Equal("consul/consul-ui-proxy-tls", annotations["nginx.ingress.kubernetes.io/proxy-ssl-secret"]);
        Assert.Equal(("on", "server.dc1.consul"), (annotations["nginx.ingress.kubernetes.io/proxy-ssl-verify"], annotations["nginx.ingress.kubernetes.io/proxy-ssl-name"]));
        Assert.Equal(("120", "off"), (annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], annotations["nginx.ingress.kubernetes.io/proxy-ssl-server-name"]));

        // The Secret the controller reads: client certificate, key and the CA to verify the servers with.
        var proxy = objects.Named<V1Secret>("consul-ui-proxy-tls");
        Assert.Equal(["ca.crt", "tls.crt", "tls.key"], proxy.Data.Keys.Order(StringComparer.Ordinal));
        var leaf = ConsulOperator.Pki.IssuedCertificate.Load(System.Text.Encoding.UTF8.GetString(proxy.Data["tls.crt"]), System.Text.Encoding.UTF8.GetString(proxy.Data["tls.key"]), "proxy");
        Assert.Equal("ui-proxy.dc1.consul", leaf.CommonName);
        Assert.Equal(["1.3.6.1.5.5.7.3.2"], leaf.ExtendedKeyUsages);

        // The servers keep verifying client certificates.
        Assert.True((bool)AgentConfig.Server(cluster.Spec, KeyMaterialSecrets.NamesOf(cluster), 3)["tls"]!["https"]!["verify_incoming"]!);
    }

    [Fact]
    public void Browser_access_turns_off_client_certificates_on_the_servers_https_only_and_needs_acls_that_deny()
    {
        var cluster = Clusters.Default(change: s => s.Ui.BrowserAccess = true);
        var names = KeyMaterialSecrets.NamesOf(cluster);
        Assert.False((bool)AgentConfig.Server(cluster.Spec, names, 3)["tls"]!["https"]!["verify_incoming"]!);
        Assert.True((bool)AgentConfig.Server(cluster.Spec, names, 3)["tls"]!["defaults"]!["verify_incoming"]!);
        Assert.True((bool)AgentConfig.Client(cluster.Spec, names)["tls"]!["https"]!["verify_incoming"]!);
        Assert.Empty(ConsulClusterValidator.Validate(cluster));

        var open = Clusters.Default(change: s =>
        {
            s.Ui.BrowserAccess = true;
            s.Acl.DefaultPolicy = AclPolicy.Allow;
        });
        Assert.Contains(ConsulClusterValidator.Validate(open), p => p.Path == "spec.ui.browserAccess");
    }

    [Fact]
    public void The_dashboard_is_opt_in_labelled_for_grafanas_sidecar_and_queries_only_this_clusters_pods()
    {
        Assert.DoesNotContain(Clusters.Build(Clusters.Default()), o => o.Metadata.Name == "consul-grafana-dashboard");

        var cluster = Clusters.Default(change: s => s.Telemetry.Dashboard = true);
        var configMap = Clusters.Build(cluster).Named<V1ConfigMap>("consul-grafana-dashboard");
        Assert.Equal("1", configMap.Metadata.Labels["grafana_dashboard"]);
        var dashboard = JsonNode.Parse(Assert.Single(configMap.Data).Value)!.AsObject();
        Assert.Equal("consul-consul-consul", (string?)dashboard["uid"]);
        var queries = dashboard["panels"]!.AsArray().SelectMany(p => p!["targets"]!.AsArray().Select(t => (string)t!["expr"]!)).ToList();
        Assert.Equal(12, queries.Count);
        Assert.All(queries, q => Assert.Matches("namespace=\"consul\", (pod=~\"(consul-server|\\(consul-server\\|consul-client\\))-\\[0-9\\]\\+\"|cluster=\"consul\")", q));

        // Only metrics HashiCorp's own server dashboard or the telemetry reference name, and the operator's own.
        string[] known = ["consul_autopilot_healthy", "consul_autopilot_failure_tolerance", "consul_raft_state_leader", "consul_raft_state_candidate", "consul_raft_commitTime", "consul_raft_apply",
            "consul_raft_leader_lastContact", "consul_rpc_request", "consul_runtime_alloc_bytes", "consul_runtime_num_goroutines", "consul_operator_server_last_index", "consul_operator_members"];
        Assert.All(queries, q => Assert.Contains(known, k => q.Contains(k + "{", StringComparison.Ordinal)));
        Assert.Contains(ConsulClusterValidator.Validate(Clusters.Default(change: s =>
        {
            s.Telemetry.Dashboard = true;
            s.Telemetry.Enabled = false;
        })), p => p.Path == "spec.telemetry.dashboard");
    }
}
