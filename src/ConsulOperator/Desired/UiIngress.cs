using ConsulOperator.Api.V1Alpha1;
using ConsulOperator.Pki;
using k8s.Models;

namespace ConsulOperator.Desired;

/// <summary>
/// The UI's Ingress: browsers speak HTTPS to the controller, the controller speaks HTTPS to the servers, presenting a
/// client certificate the operator issues for it (browsers cannot present one) and verifying the servers against the
/// cluster CA. The annotations say so to ingress-nginx (its "Backend Certificate Authentication" annotations:
/// proxy-ssl-secret holds tls.crt, tls.key and ca.crt); other controllers need their own, given in the spec.
/// </summary>
public static class UiIngress
{
    public const string NginxPrefix = "nginx.ingress.kubernetes.io/";

    public static IEnumerable<V1Ingress> Build(V1Alpha1ConsulCluster cluster)
    {
        var spec = cluster.Spec;
        if (spec.Ui.Ingress is not { } ingress || !spec.Ui.Enabled)
        {
            yield break;
        }

        var names = KeyMaterialSecrets.NamesOf(cluster);
        var annotations = new Dictionary<string, string>
        {
            [NginxPrefix + "backend-protocol"] = "HTTPS",
            [NginxPrefix + "proxy-ssl-verify"] = "on",
            [NginxPrefix + "proxy-ssl-name"] = LeafRequest.NameFor(CertificateRole.Server, spec.Datacenter, spec.Domain),
            [NginxPrefix + "proxy-ssl-server-name"] = "on",
            [NginxPrefix + "proxy-ssl-secret"] = $"{names.Namespace}/{names.UiProxySecret}",
        };
        foreach (var (key, value) in ingress.Annotations ?? [])
        {
            annotations[key] = value;
        }

        var metadata = ObjectMetadata.For(cluster, names.UiService, Components.Ui);
        metadata.Annotations = annotations;
        yield return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "Ingress",
            Metadata = metadata,
            Spec = new V1IngressSpec
            {
                IngressClassName = ingress.ClassName,
                Rules =
                [
                    new V1IngressRule
                    {
                        Host = ingress.Host,
                        Http = new V1HTTPIngressRuleValue
                        {
                            Paths =
                            [
                                new V1HTTPIngressPath
                                {
                                    Path = "/",
                                    PathType = "Prefix",
                                    Backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = names.UiService, Port = new V1ServiceBackendPort { Name = "https" } } },
                                },
                            ],
                        },
                    },
                ],
                Tls = ingress.TlsSecretName is { } secret ? [new V1IngressTLS { Hosts = [ingress.Host], SecretName = secret }] : null,
            },
        };
    }
}
