<?php
/**
 * The base configuration for WordPress (blog.acme-corp.io).
 *
 * @package WordPress
 */

// ** Database settings ** //
define( 'DB_NAME', 'acme_blog' );
define( 'DB_USER', 'acme_blog' );
define( 'DB_PASSWORD', '⟦generic-password⟧' );
define( 'DB_HOST', 'mysql-blog.internal' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

/**#@+
 * Authentication unique keys and salts.
 * Regenerate with the wordpress.org secret-key service to log everybody out.
 */
define( 'AUTH_KEY',         '⟦generic-secret|q.8Jx]v+L0u@Zr4~Kd)Wg2-Yf^Bm9!Hs<Tc6=Np$Ea1%Qz3⟧' );
define( 'SECURE_AUTH_KEY',  '⟦generic-secret|4G-fL)yT~9w[Rk2!pZ0x^Hb6=Ms8(Jd]Vn1*Qc3+Ue5@Ai7⟧' );
define( 'LOGGED_IN_KEY',    'put your unique phrase here' );
define( 'NONCE_KEY',        'put your unique phrase here' );
define( 'AUTH_SALT',        'put your unique phrase here' );
define( 'SECURE_AUTH_SALT', 'put your unique phrase here' );
define( 'LOGGED_IN_SALT',   'put your unique phrase here' );
define( 'NONCE_SALT',       'put your unique phrase here' );
/**#@-*/

$table_prefix = 'wp_';

// Mail via SES SMTP
define( 'WPMS_ON', true );
define( 'WPMS_MAILER', 'smtp' );
define( 'WPMS_SMTP_HOST', 'email-smtp.eu-west-1.amazonaws.com' );
define( 'WPMS_SMTP_PORT', 587 );
define( 'WPMS_SMTP_AUTH', true );
define( 'WPMS_SMTP_USER', '⟦aws-access-key-id⟧' );
define( 'WPMS_SMTP_PASS', getenv( 'SES_SMTP_PASSWORD' ) );

// Offload media to S3
define( 'AS3CF_SETTINGS', serialize( array(
    'provider'          => 'aws',
    'access-key-id'     => getenv( 'AWS_ACCESS_KEY_ID' ),
    'secret-access-key' => getenv( 'AWS_SECRET_ACCESS_KEY' ),
) ) );

define( 'WP_DEBUG', false );
define( 'WP_DEBUG_LOG', false );
define( 'DISALLOW_FILE_EDIT', true );
define( 'FORCE_SSL_ADMIN', true );

if ( isset( $_SERVER['HTTP_X_FORWARDED_PROTO'] ) && 'https' === $_SERVER['HTTP_X_FORWARDED_PROTO'] ) {
    $_SERVER['HTTPS'] = 'on';
}

/* That's all, stop editing! Happy publishing. */

if ( ! defined( 'ABSPATH' ) ) {
    define( 'ABSPATH', __DIR__ . '/' );
}

require_once ABSPATH . 'wp-settings.php';
