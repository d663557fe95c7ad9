// Node-RED settings of this deployment, after the "Securing Node-RED" page: the editor and admin API need a log-in
// (adminAuth with bcrypt-hashed passwords), alice administers ("*"), bob only looks ("read"). The misconfigured
// setup adds the page's `default` user, which gives everyone who has not logged in read access.
// Secrets and paths come from the environment (deploy.py); bcryptjs is Node-RED's own dependency.
const bcrypt = require(process.env.NODE_RED_MODULES + "/bcryptjs");

const adminAuth = {
    type: "credentials",
    users: [
        {username: "alice", password: bcrypt.hashSync(process.env.NODE_RED_ALICE_PASSWORD, 8), permissions: "*"},
        {username: "bob", password: bcrypt.hashSync(process.env.NODE_RED_BOB_PASSWORD, 8), permissions: "read"},
    ],
};
if (process.env.NODE_RED_DEFAULT_PERMISSIONS) {
    adminAuth.default = {permissions: process.env.NODE_RED_DEFAULT_PERMISSIONS};
}

module.exports = {
    uiHost: "127.0.0.1",
    uiPort: Number(process.env.PORT),
    flowFile: "flows.json",
    credentialSecret: process.env.NODE_RED_CREDENTIAL_SECRET,
    adminAuth,
    diagnostics: {enabled: false},
    logging: {console: {level: "info", audit: false}},
};
