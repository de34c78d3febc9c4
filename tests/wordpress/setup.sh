#!/usr/bin/env bash
# A real WordPress on loopback for tests/test_wordpress.py. Run as root; idempotent (a
# second run keeps what works); CI runs it before the tests.
#
# Debian's `wordpress` package, served by an Apache instance of its own on 127.0.0.1:$PORT
# (config in $STATE, so the machine's Apache and port 80 are left alone), a MariaDB
# database, and Debian's per-site config file chosen with WORDPRESS_CONFIG (see
# /usr/share/doc/wordpress/README.Debian) with WP_ENVIRONMENT_TYPE=local, without which
# application passwords refuse plain http. Then the site is installed, its time zone set
# to one far from UTC (a post scheduled in site time instead of UTC would show), and an
# application password made for its admin. Writes $KMCOMMS_TEST_WORDPRESS_ENV
# (default /var/lib/kmcomms-tests/wordpress.env):
#
#   WORDPRESS_URL=http://127.0.0.1:8081
#   WORDPRESS_USER=admin
#   WORDPRESS_PASSWORD=<application password>
#
# A throwaway site and credential on loopback, for tests only.
set -euo pipefail

PORT="${KMCOMMS_WORDPRESS_PORT:-8081}"
ENV_FILE="${KMCOMMS_TEST_WORDPRESS_ENV:-/var/lib/kmcomms-tests/wordpress.env}"
STATE=/var/lib/kmcomms-tests/wordpress
URL="http://127.0.0.1:$PORT"
DB=kmcomms_wp
SITE=kmcomms-tests                      # WORDPRESS_CONFIG: /etc/wordpress/config-kmcomms-tests.php
CONFIG="/etc/wordpress/config-$SITE.php"

[[ $(id -u) == 0 ]] || { echo "setup.sh: run as root (it installs packages and starts services)" >&2; exit 2; }

# ------------------------------------------------------------------ packages
missing=()
for package in wordpress apache2 libapache2-mod-php php-mysql mariadb-server curl openssl; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
fi

# ------------------------------------------------------------------ database
mysql -uroot -e 'select 1' >/dev/null 2>&1 || service mariadb start >/dev/null
DB_PASSWORD=""
[[ -f $CONFIG ]] && DB_PASSWORD=$(sed -n "s/^define('DB_PASSWORD', '\([0-9a-f]*\)');$/\1/p" "$CONFIG")
[[ -n $DB_PASSWORD ]] || DB_PASSWORD=$(openssl rand -hex 16)
mysql -uroot <<SQL
CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON $DB.* TO '$DB'@'localhost';
SQL

# ------------------------------------------------------------------ WordPress config
salts=""
for name in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
    salts+="define('$name', '$(openssl rand -hex 32)');"$'\n'
done
(umask 027; cat > "$CONFIG" <<PHP
<?php
// Written by kmcomms tests/wordpress/setup.sh: the WordPress the kmcomms tests publish to.
define('DB_NAME', '$DB');
define('DB_USER', '$DB');
define('DB_PASSWORD', '$DB_PASSWORD');
define('DB_HOST', 'localhost');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
// Application passwords need https or a "local" environment.
define('WP_ENVIRONMENT_TYPE', 'local');
// Posts change only through the REST calls the tests make, never in a background run.
define('DISABLE_WP_CRON', true);
$salts
PHP
)
chgrp www-data "$CONFIG"

# ------------------------------------------------------------------ Apache on 127.0.0.1:$PORT
mkdir -p "$STATE/run" "$(dirname "$ENV_FILE")"
cat > "$STATE/apache.conf" <<CONF
# Written by kmcomms tests/wordpress/setup.sh: an Apache of its own for the test WordPress.
ServerRoot /etc/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:$PORT
DefaultRuntimeDir $STATE/run
PidFile $STATE/run/apache.pid
ErrorLog $STATE/apache-error.log
User www-data
Group www-data
Include mods-available/mpm_prefork.load
Include mods-available/authz_core.load
Include mods-available/dir.load
Include mods-available/mime.load
Include mods-available/alias.load
Include mods-available/env.load
Include mods-available/php*.load
Include mods-available/php*.conf
TypesConfig /etc/mime.types
DirectoryIndex index.php
DocumentRoot /usr/share/wordpress
SetEnv WORDPRESS_CONFIG $SITE
Alias /wp-content /var/lib/wordpress/wp-content
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory /usr/share/wordpress>
    Options FollowSymLinks
    Require all granted
</Directory>
<Directory /var/lib/wordpress/wp-content>
    Options FollowSymLinks
    Require all granted
</Directory>
CONF
apache2 -t -f "$STATE/apache.conf" 2>/dev/null || apache2 -t -f "$STATE/apache.conf"
if [[ -f $STATE/run/apache.pid ]] && kill -0 "$(cat "$STATE/run/apache.pid")" 2>/dev/null; then
    apache2 -f "$STATE/apache.conf" -k graceful
elif curl -s -o /dev/null "$URL/"; then
    echo "setup.sh: something else answers on 127.0.0.1:$PORT — stop it, or set KMCOMMS_WORDPRESS_PORT to a free port" >&2
    exit 1
else
    apache2 -f "$STATE/apache.conf" -k start
fi
for _ in $(seq 50); do
    curl -s -o /dev/null "$URL/wp-includes/version.php" && break
    sleep 0.2
done

# ------------------------------------------------------------------ install, once
# install.php answers "Already Installed" and changes nothing when the site exists.
# (The admin's login password is never needed: the tests use the application password.)
admin_password=$(openssl rand -hex 16)
curl -fsS -o /dev/null "$URL/wp-admin/install.php?step=2" \
    --data-urlencode "weblog_title=kmcomms tests" --data-urlencode "user_name=admin" \
    --data-urlencode "admin_password=$admin_password" --data-urlencode "admin_password2=$admin_password" \
    --data-urlencode "admin_email=admin@example.org" --data "pw_weak=1&blog_public=0&language="
# An uninstalled site redirects every request to install.php: only a 200 here means installed.
status=$(curl -sS -o /dev/null -w '%{http_code}' "$URL/?rest_route=/")
[[ $status == 200 ]] || { echo "setup.sh: $URL/?rest_route=/ answered $status, not the REST API (see $STATE/apache-error.log)" >&2; exit 1; }

# ------------------------------------------------------------------ application password
user=admin
password=""
[[ -f $ENV_FILE ]] && password=$(sed -n 's/^WORDPRESS_PASSWORD=//p' "$ENV_FILE")
works() { [[ -n $1 && $(curl -sS -o /dev/null -w '%{http_code}' -u "$user:$1" "$URL/?rest_route=/wp/v2/users/me") == 200 ]]; }
if ! works "$password"; then
    password=$(php -r '
        $_SERVER["HTTP_HOST"] = "127.0.0.1";
        $_SERVER["WORDPRESS_CONFIG"] = $argv[1];
        require "/usr/share/wordpress/wp-load.php";
        update_option("timezone_string", "Asia/Kolkata");
        foreach (WP_Application_Passwords::get_user_application_passwords(1) as $item) {
            if ($item["name"] === "kmcomms-tests") {
                WP_Application_Passwords::delete_application_password(1, $item["uuid"]);
            }
        }
        $made = WP_Application_Passwords::create_new_application_password(1, ["name" => "kmcomms-tests"]);
        if (is_wp_error($made)) { fwrite(STDERR, $made->get_error_message() . "\n"); exit(1); }
        echo $made[0];
    ' "$SITE")
    works "$password" || { echo "setup.sh: WordPress refuses the application password it just made" >&2; exit 1; }
fi
(umask 022; printf 'WORDPRESS_URL=%s\nWORDPRESS_USER=%s\nWORDPRESS_PASSWORD=%s\n' "$URL" "$user" "$password" > "$ENV_FILE")

version=$(sed -n "s/^\$wp_version = '\(.*\)';/\1/p" /usr/share/wordpress/wp-includes/version.php)
echo "WordPress $version at $URL is ready; credentials in $ENV_FILE"
