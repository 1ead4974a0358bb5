namespace ConsulOperator.Api.V1Alpha1;

public static class ApiGroup
{
    public const string Name = "consul.operator.dev";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Name + "/" + Version;
}
