"""The plux entry point LocalStack discovers (``LAMBDA_RUNTIME_EXECUTOR=host``)."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class HostRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "host"

    def load(self, *args, **kwargs):
        from host_lambda_executor import async_invoke
        from host_lambda_executor.executor import HostRuntimeExecutor

        async_invoke.install()  # idempotent: LocalStack calls load() for every new environment
        return HostRuntimeExecutor
