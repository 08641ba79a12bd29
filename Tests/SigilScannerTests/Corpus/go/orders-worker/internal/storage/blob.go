package storage

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

const (
	labelsContainer = "shipping-labels"
	accountURL      = "https://stordersprod.blob.core.windows.net/"
)

// devConnectionString points at the shared dev storage account (not Azurite, which uses
// the well-known development key).
const devConnectionString = "⟦azure-storage-connection-string⟧"

// Store uploads shipping labels.
type Store struct {
	client *azblob.Client
}

// New uses managed identity in Azure and the dev connection string elsewhere.
func New() (*Store, error) {
	if os.Getenv("AZURE_CLIENT_ID") != "" {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("azure credential: %w", err)
		}
		client, err := azblob.NewClient(accountURL, cred, nil)
		if err != nil {
			return nil, err
		}
		return &Store{client: client}, nil
	}
	conn := os.Getenv("AZURE_STORAGE_CONNECTION_STRING")
	if conn == "" {
		conn = devConnectionString
	}
	client, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		return nil, err
	}
	return &Store{client: client}, nil
}

// PutLabel uploads one label PDF and returns its blob name.
func (s *Store) PutLabel(ctx context.Context, orderID string, pdf io.Reader) (string, error) {
	name := fmt.Sprintf("%s/%s.pdf", orderID[:2], orderID)
	_, err := s.client.UploadStream(ctx, labelsContainer, name, pdf, nil)
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	return name, nil
}
