# JupyterHub configuration of the end-to-end test (e2e/test_hub.py), on 127.0.0.1 only.
# Real components: the dummy authenticator, the local process spawner (servers run as
# the system users alice and bob), configurable-http-proxy from npm, and the hub's
# environment outside root's home (e2e/hub/setup.sh). The test sets the variables.
import os

c = get_config()  # noqa: F821 - provided by JupyterHub
env = os.environ
state = env["HUB_STATE_DIR"]
hub_env = env.get("HUB_ENV", "/opt/emcourse-hub")

c.JupyterHub.bind_url = f"http://127.0.0.1:{env['HUB_PORT']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env["HUB_API_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [env["CHP"]]
c.ConfigurableHTTPProxy.should_start = True
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {"alice", "bob"}

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{hub_env}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {
    # the shared data folder, a read-only bind mount; the network reaches the workshop
    # mirror only (every other address goes to a closed proxy port)
    "EMCOURSE_DATA_DIR": env["EMCOURSE_SHARED_DATA"],
    "EMCOURSE_MIRROR": env["EMCOURSE_MIRROR"],
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    # where `emcourse submit` hands in progress records (write-only for learners)
    "EMCOURSE_DROP_DIR": env["EMCOURSE_DROP_DIR"],
    # the test's course repository is a local folder owned by root: a global git
    # config (safe.directory) lets the learners' git clone it
    "GIT_CONFIG_GLOBAL": env["HUB_GITCONFIG"],
}
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

c.JupyterHub.services = [{"name": "e2e", "api_token": env["HUB_E2E_TOKEN"]}]
c.JupyterHub.load_roles = [
    {"name": "e2e", "scopes": ["servers", "access:servers", "read:users"], "services": ["e2e"]}
]
c.JupyterHub.cleanup_servers = True
